import Foundation
import Logging
import ServiceKit

/// Re-seals every platform access token under the newest key of `PIXECOM_PLATFORM_TOKEN_KEYS`
/// (docs/OPERATIONS.md, "Platform token keys"). Scheduled every ten minutes; a run with nothing
/// to do costs one indexed query. Batches of 100 rows, each its own short transaction; SKIP LOCKED
/// lets replicas' runs overlap without waiting on each other.
struct PlatformTokenRotation: JobKind {
    struct Args: Codable, Sendable, Equatable {}

    static let name = "campaign.platform_token_rotation"
    static let schedule = "*/10 * * * *"
    static let timeout: Duration = .seconds(300)
    static let batch = 100

    let store: PlatformConnectionStore

    func run(_ job: JobContext<Args>) async throws -> JobOutcome {
        let pass = try await self.resealAll(logger: job.logger)
        if pass.resealed > 0 || !pass.unreadable.isEmpty {
            job.logger.info(
                "platform_tokens.resealed",
                metadata: [
                    "tokens.count": "\(pass.resealed)", "tokens.unreadable": "\(pass.unreadable.count)",
                    "tokens.key_version": "\(self.store.vault.currentVersion)",
                ])
        }
        return .completed
    }

    /// Re-seals batch after batch, once over every token under an older key; returns how many it
    /// re-sealed and which did not open (they stay as they were, and are logged).
    func resealAll(logger: Logger) async throws -> (resealed: Int, unreadable: [UUID]) {
        var cursor: ResealCursor?
        var resealed = 0
        var unreadable: [UUID] = []
        while true {
            let batch = try await self.store.resealBatch(after: cursor, limit: Self.batch, logger: logger)
            resealed += batch.resealed
            unreadable += batch.unreadable
            guard batch.fetched == Self.batch, let last = batch.last else { return (resealed, unreadable) }
            cursor = last
        }
    }
}
