import Foundation
import PostgresNIO
import RPCKit

/// A row of one of the service's object tables, as the shared queries in `ObjectQueries` see it.
protocol StoredObject: Sendable {
    /// The table and the constant SQL pieces the shared queries need.
    static var table: ObjectTable { get }
    /// Decodes a row selected with `table.columns`.
    init(row: PostgresRow) throws
    var id: UUID { get }
    var createdAt: Date { get }
}

/// A stored object whose status the seller sets (campaigns, ad sets, ads).
protocol StatusBearingObject: StoredObject {
    var name: String { get }
    var status: AdObjectStatus { get }
    var externalID: String { get }
    var updatedAt: Date { get }
    /// The object's own budget, if it has one.
    var budget: Budget? { get }
    /// Its settings as the platform holds them, to send again after interleaved updates.
    var settings: PlatformSettings { get }
    /// Whether its ad account is connected; nothing under a disconnected one changes.
    var accountConnected: Bool { get }
}

extension StatusBearingObject {
    /// FAILED_PRECONDITION when the object's ad account is disconnected: its history stays
    /// readable, but nothing under it changes (nor reaches the platform) until it is reconnected.
    func requireConnectedAccount() throws {
        guard self.accountConnected else {
            throw RPCError(
                .failedPrecondition,
                "the ad account of \(Self.table.describe(self.id)) is disconnected; connect it again (POST /v1/ad-accounts with its externalId) to change anything under it"
            )
        }
    }
}

/// Constant SQL describing one table. Only ever built from literals in this module, never from
/// input, so it may be spliced into queries.
///
/// Reads select from `source`, where the table itself is `o` and its parents (for the effective
/// status) are joined; writes name the table alone and read the row back through `source`.
struct ObjectTable: Sendable {
    /// Tables that point at this one and follow it into DELETED: (table, referencing column).
    struct Dependent: Sendable {
        var table: String
        var column: String
    }

    var name: String
    /// The singular noun for messages, e.g. "ad set".
    var noun: String
    /// The FROM clause of reads: the table as `o`, with the parents its effective status needs.
    var source: String
    /// The select list over `source`, in the order `init(row:)` decodes.
    var columns: String
    /// The effective status over `source`, as SQL; nil for tables without a status.
    var effectiveStatus: String? = nil
    /// The column a List `parent_id` filters on; nil when the object has no parent.
    var parentColumn: String?
    /// Whether rows carry a status, DELETED ones being left out of lists.
    var hasStatus: Bool
    var dependents: [Dependent] = []
    /// Which rows count against a plan limit, as SQL over the table's columns.
    var countCondition: String = "true"

    /// "campaign <id>", as messages name an object.
    func describe(_ id: UUID) -> String {
        "\(self.noun) \(id.uuidString.lowercased())"
    }

    /// NOT_FOUND naming the object; also the answer for another seller's object.
    func notFound(_ id: UUID) -> RPCError {
        RPCError(.notFound, "\(self.describe(id)) not found")
    }
}

/// A stored value this code cannot read: a schema/code mismatch, answered as INTERNAL.
struct UnreadableRowError: Error, CustomStringConvertible {
    var table: String
    var column: String
    var value: String

    var description: String { "\(self.table).\(self.column) holds unreadable value \"\(self.value)\"" }
}

extension AdObjectStatus {
    /// The status stored in `table`.
    init(stored text: String, table: String) throws {
        guard let status = AdObjectStatus(rawValue: text) else {
            throw UnreadableRowError(table: table, column: "status", value: text)
        }
        self = status
    }
}

extension UUID {
    /// Ids go over the wire in lower case.
    var wireText: String { self.uuidString.lowercased() }
}

extension PostgresRowSequence {
    /// The first row, decoded; nil when there is none.
    func first<Object: StoredObject>(_: Object.Type) async throws -> Object? {
        for try await row in self {
            return try Object(row: row)
        }
        return nil
    }
}
