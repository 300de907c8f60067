/// A member's role within a seller, weakest first. Each role can do everything the weaker ones
/// can: a VIEWER reads, an EDITOR also changes campaigns and orders, an ADMIN also manages
/// members, API keys and ad accounts, and the OWNER also transfers or closes the seller.
public enum Role: String, CaseIterable, Comparable, Sendable, Codable {
    case viewer = "VIEWER"
    case editor = "EDITOR"
    case admin = "ADMIN"
    case owner = "OWNER"

    /// Parses a role as carried in tokens and requests (case-insensitive); nil when unknown.
    public init?(text: some StringProtocol) {
        guard text.utf8.count <= 16 else { return nil }
        if let exact = Role(rawValue: String(text)) {
            self = exact
            return
        }
        self.init(rawValue: text.uppercased())
    }

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .editor: 1
        case .admin: 2
        case .owner: 3
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}
