extension Duration {
    /// The duration in seconds, fractions included: for `Date` arithmetic and rates.
    @inlinable public var inSeconds: Double {
        Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18
    }
}
