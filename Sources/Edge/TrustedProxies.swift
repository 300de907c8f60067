import Foundation

/// The proxies (load balancers) allowed to say who the client is, from `PIXECOM_TRUSTED_PROXIES`.
///
/// A request arriving straight from a client is that client's. One arriving from a trusted proxy
/// names its client in `X-Forwarded-For`, each proxy appending the address it received from: the
/// client is the rightmost address that is not itself a trusted proxy. Everything left of it was
/// written by the client and may be forged, so it is never read. An entry that is not an IP
/// address stops the walk at the last hop known to be true.
///
/// With no proxies configured (the default) the header is ignored, so a client cannot choose the
/// address its login throttling, rate limits and audit entries are counted under.
struct TrustedProxies: Sendable {
    /// An address range: `10.0.0.0/8`, `2001:db8::/32`, or a single address.
    struct Range: Sendable, Equatable {
        /// 16 bytes; IPv4 as IPv4-mapped IPv6 (`::ffff:a.b.c.d`), so one comparison serves both.
        let network: [UInt8]
        let prefixLength: Int

        init?(_ text: some StringProtocol) {
            let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let address = IPAddress(parts[0]) else { return nil }
            let maximum = address.isIPv4 ? 32 : 128
            var length = maximum
            if parts.count == 2 {
                guard let value = Int(parts[1]), (0...maximum).contains(value) else { return nil }
                length = value
            }
            self.prefixLength = length + (address.isIPv4 ? 96 : 0)
            self.network = Self.masked(address.bytes, self.prefixLength)
        }

        func contains(_ address: IPAddress) -> Bool {
            let whole = self.prefixLength / 8
            guard address.bytes.prefix(whole).elementsEqual(self.network.prefix(whole)) else { return false }
            let bits = self.prefixLength % 8
            return bits == 0 || address.bytes[whole] & ~(0xFF >> bits) == self.network[whole]
        }

        private static func masked(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
            bytes.enumerated().map { index, byte in
                let bits = min(8, max(0, length - index * 8))
                return bits == 8 ? byte : byte & ~(0xFF >> bits)
            }
        }
    }

    /// An IPv4 or IPv6 address, as 16 bytes (IPv4 mapped).
    struct IPAddress: Sendable, Equatable {
        let bytes: [UInt8]

        var isIPv4: Bool { self.bytes.prefix(12).elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]) }

        init?(_ text: some StringProtocol) {
            let text = String(text)
            guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
            var v4 = in_addr()
            var v6 = in6_addr()
            if inet_pton(AF_INET, text, &v4) == 1 {
                let value = UInt32(bigEndian: v4.s_addr)
                self.bytes = [
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF),
                    UInt8(value & 0xFF),
                ]
            } else if inet_pton(AF_INET6, text, &v6) == 1 {
                self.bytes = withUnsafeBytes(of: &v6) { Array($0) }
            } else {
                return nil
            }
        }
    }

    let ranges: [Range]

    var isEmpty: Bool { self.ranges.isEmpty }

    /// Parses `10.0.0.0/8, 192.0.2.7, 2001:db8::/32`; the error names the first entry that is not
    /// a range.
    static func parse(_ text: String) throws(ParseError) -> TrustedProxies {
        var ranges: [Range] = []
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            guard let range = Range(entry) else { throw ParseError(entry: entry) }
            ranges.append(range)
        }
        return TrustedProxies(ranges: ranges)
    }

    struct ParseError: Error {
        let entry: String
    }

    func trusts(_ address: String) -> Bool {
        guard !self.ranges.isEmpty, let address = IPAddress(address) else { return false }
        return self.trusts(address)
    }

    func trusts(_ address: IPAddress) -> Bool {
        self.ranges.contains { $0.contains(address) }
    }

    /// The client of a request that `peer` (a trusted proxy) forwarded with these
    /// `X-Forwarded-For` header values (each a comma-separated list, in the order they came).
    func client(peer: String, forwardedFor values: [String]) -> String {
        var client = peer
        for value in values.reversed() {
            for entry in value.split(separator: ",").reversed() {
                let candidate = Self.address(in: entry)
                guard let candidate, let address = IPAddress(candidate) else { return client }
                client = candidate
                if !self.trusts(address) { return client }
            }
        }
        return client
    }

    /// The address of an `X-Forwarded-For` entry: trimmed, an IPv6 address without the brackets
    /// some proxies add; a port after an IPv4 address or a bracketed IPv6 one dropped.
    private static func address(in entry: Substring) -> String? {
        let trimmed = entry.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("[") {
            guard let end = trimmed.firstIndex(of: "]") else { return nil }
            return String(trimmed[trimmed.index(after: trimmed.startIndex)..<end])
        }
        if let colon = trimmed.firstIndex(of: ":"), colon == trimmed.lastIndex(of: ":") {
            return String(trimmed[..<colon])
        }
        return trimmed
    }
}
