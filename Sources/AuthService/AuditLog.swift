import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// The audit log of AuthService: logins, lockouts, invitations, role changes, removals, password
/// changes and revoked sessions, per seller.
struct AuditLog: Sendable {
    /// One event to record.
    struct Event: Sendable {
        var sellerID: UUID?
        var kind: String
        var actor: UUID?
        var subject: UUID?
        var sourceAddress: String
        var details: [String: String] = [:]
    }

    let db: PostgresClient

    /// Records `event` on `connection` (inside the caller's transaction, so the change and its
    /// record commit together).
    func record(_ event: Event, on connection: PostgresConnection, logger: Logger) async throws {
        let details = String(decoding: try JSONEncoder().encode(event.details), as: UTF8.self)
        try await connection.query(
            """
            INSERT INTO audit_events (seller_id, id, kind, actor_user_id, subject_user_id, source_address, details)
            VALUES (\(event.sellerID), \(UUID()), \(event.kind), \(event.actor), \(event.subject),
                    \(String(event.sourceAddress.prefix(128))), \(details)::jsonb)
            """,
            logger: logger
        )
    }

    /// Records `event` on its own.
    func record(_ event: Event, logger: Logger) async throws {
        if let sellerID = event.sellerID {
            try await self.db.withSeller(sellerID, logger: logger) { connection in
                try await self.record(event, on: connection, logger: logger)
            }
        } else {
            try await self.db.withConnection { connection in
                try await self.record(event, on: connection, logger: logger)
            }
        }
    }

    /// A page of the seller's events, newest first.
    func list(sellerID: UUID, after cursor: (createdAt: Date, id: UUID)?, limit: Int, logger: Logger) async throws
        -> (events: [Pixecom_Auth_V1_AuditEvent], next: String)
    {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await Self.list(sellerID: sellerID, after: cursor, limit: limit, on: connection, logger: logger)
        }
    }

    private static func list(
        sellerID: UUID, after cursor: (createdAt: Date, id: UUID)?, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> (events: [Pixecom_Auth_V1_AuditEvent], next: String) {
        let rows: PostgresRowSequence
        if let cursor {
            rows = try await connection.query(
                """
                SELECT id, at, kind, actor_user_id, subject_user_id, source_address, details::text
                FROM audit_events
                WHERE seller_id = \(sellerID) AND (at, id) < (\(cursor.createdAt), \(cursor.id))
                ORDER BY at DESC, id DESC LIMIT \(limit + 1)
                """,
                logger: logger
            )
        } else {
            rows = try await connection.query(
                """
                SELECT id, at, kind, actor_user_id, subject_user_id, source_address, details::text
                FROM audit_events WHERE seller_id = \(sellerID)
                ORDER BY at DESC, id DESC LIMIT \(limit + 1)
                """,
                logger: logger
            )
        }
        var events: [Pixecom_Auth_V1_AuditEvent] = []
        var last: (Date, UUID)?
        for try await (id, at, kind, actor, subject, address, details) in rows.decode(
            (UUID, Date, String, UUID?, UUID?, String, String).self)
        {
            guard events.count < limit else {
                return (events, last.map { PageToken.encode(createdAt: $0.0, id: $0.1) } ?? "")
            }
            var event = Pixecom_Auth_V1_AuditEvent()
            event.id = id.uuidString.lowercased()
            event.at = RequestValidation.timestamp(at)
            event.kind = kind
            event.actorUserID = actor?.uuidString.lowercased() ?? ""
            event.subjectUserID = subject?.uuidString.lowercased() ?? ""
            event.sourceAddress = address
            event.details = (try? JSONDecoder().decode([String: String].self, from: Data(details.utf8))) ?? [:]
            events.append(event)
            last = (at, id)
        }
        return (events, "")
    }
}
