import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import ServiceKit

/// The job that checks verified domains again (hourly by cron): a TXT record can be removed, or
/// the domain sold, after it was verified, and the record is the proof every time. It reads the
/// verified domains not checked within `interval`, across sellers, through the `domains_due`
/// policy, and looks each one up as `DomainStore.verify` does, one after another with no
/// transaction open during the lookup. An answer without the token takes the verification back;
/// a lookup that got no answer records its problem and keeps the domain verified until a later
/// check gets an answer.
struct DomainRecheck: JobKind {
    struct Args: Codable, Sendable, Equatable {}

    static var name: String { "orders.domain_recheck" }
    static var queue: String { "maintenance" }
    static var maxAttempts: Int { 3 }
    static var timeout: Duration { .seconds(900) }

    let store: DomainStore
    /// How long a verified domain goes between checks.
    var interval: Duration = .seconds(24 * 3600)
    /// Domains checked per run.
    var limit = 500

    func run(_ job: JobContext<Args>) async throws -> JobOutcome {
        _ = try await self.recheck(logger: job.logger)
        return .completed
    }

    /// Checks the domains due; returns them with whether each is still verified.
    func recheck(logger: Logger) async throws -> [(domain: String, verified: Bool)] {
        let cutoff = Date().addingTimeInterval(-Double(self.interval.components.seconds))
        let due = try await self.store.db.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT set_config('app.domain_recheck', 'on', true)", logger: logger)
            let rows = try await connection.query(
                """
                SELECT seller_id, domain FROM seller_domains
                WHERE verified_at IS NOT NULL AND (checked_at IS NULL OR checked_at < \(cutoff))
                ORDER BY checked_at NULLS FIRST
                LIMIT \(self.limit)
                """,
                logger: logger
            )
            var due: [(UUID, String)] = []
            for try await row in rows.decode((UUID, String).self) { due.append(row) }
            return due
        }
        var results: [(domain: String, verified: Bool)] = []
        for (sellerID, domain) in due {
            let checked: Pixecom_Orders_V1_Domain
            do {
                checked = try await self.store.verify(domain, sellerID: sellerID, keepOnFailure: true, logger: logger)
            } catch {
                // Removed meanwhile, or taken by another seller's proof: nothing to withdraw here.
                logger.info("domain.recheck_skipped", metadata: ["domain.name": "\(domain)", "error": "\(error)"])
                continue
            }
            results.append((domain, checked.status == .verified))
            if checked.status != .verified {
                logger.warning("domain.verification_withdrawn", metadata: ["seller.id": "\(sellerID)", "domain.name": "\(domain)"])
            }
        }
        return results
    }
}
