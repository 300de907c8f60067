import Foundation
import Metrics

/// The leader's work, every maintenance round: rescue, prune, report depths.
extension JobRunner {
    static let leadership = "job_maintenance"

    func maintenance() async {
        while !Task.isCancelled {
            do {
                if try await self.store.lead(Self.leadership, term: self.configuration.leaderTerm) {
                    try await self.maintain()
                }
            } catch {
                if Task.isCancelled { return }
                self.logger.warning("job.maintenance.failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await Task.sleep(for: self.configuration.maintenanceInterval)
        }
    }

    /// One round of the leader's work.
    func maintain() async throws {
        var rescued = 0
        repeat {
            let count = try await self.store.rescue(kinds: self.kinds, limit: 1000)
            rescued += count
            if count < 1000 { break }
        } while !Task.isCancelled
        if rescued > 0 {
            self.logger.warning("job.rescued", metadata: ["job.count": "\(rescued)"])
            Counter(label: "pixecom_jobs_rescued_total").increment(by: rescued)
            for wake in self.wakes.values { wake.signal() }
        }
        try await self.enqueueCronRuns()
        let pruned = try await self.store.prune(olderThan: self.configuration.retention, limit: 10_000)
        try await self.store.pruneCronRuns(olderThan: self.configuration.retention)
        if pruned > 0 {
            self.logger.info("job.pruned", metadata: ["job.count": "\(pruned)"])
        }
        var seen: Set<String> = []
        for depth in try await self.store.depths() {
            Gauge(label: "pixecom_jobs", dimensions: [("queue", depth.queue), ("state", depth.state)]).record(depth.count)
            if depth.state == "available" {
                Gauge(label: "pixecom_jobs_oldest_due_seconds", dimensions: [("queue", depth.queue)]).record(depth.oldestDueSeconds)
            }
            seen.insert("\(depth.queue)/\(depth.state)")
        }
        // A queue and state with no jobs left reads 0, not its last count.
        for queue in self.configuration.queues.keys {
            for state in ["available", "running", "discarded"] where !seen.contains("\(queue)/\(state)") {
                Gauge(label: "pixecom_jobs", dimensions: [("queue", queue), ("state", state)]).record(0)
            }
        }
    }

    /// Enqueues the scheduled runs that are due, each in one transaction with its row in
    /// `job_cron_runs`, whose key (kind, scheduled time) makes a second enqueue of the same run
    /// impossible, whichever leader tries.
    ///
    /// Runs missed while no leader ran (every replica down, or the leader stalled): of the
    /// scheduled times that passed since the kind's last enqueued run, only the latest is
    /// enqueued; the earlier ones are skipped, logged and counted
    /// (`pixecom_jobs_cron_skipped_total`). A kind seen for the first time starts one minute back.
    /// Times are the database's clock, so replicas agree.
    func enqueueCronRuns() async throws {
        for scheduled in self.kinds.scheduled {
            let (now, last) = try await self.store.cronState(kind: scheduled.kind)
            var cursor = last ?? now.addingTimeInterval(-60)
            var due: Date?
            var skipped = 0
            while let time = scheduled.schedule.next(after: cursor), time <= now {
                if due != nil { skipped += 1 }
                due = time
                cursor = time
            }
            guard let due else { continue }
            if skipped > 0 {
                self.logger.warning(
                    "job.cron.skipped",
                    metadata: ["job.kind": "\(scheduled.kind)", "job.count": "\(skipped)", "job.scheduled_at": "\(due)"])
                Counter(label: "pixecom_jobs_cron_skipped_total", dimensions: [("kind", scheduled.kind)]).increment(by: skipped)
            }
            if let id = try await self.store.enqueueCronRun(scheduled, at: due) {
                self.logger.info(
                    "job.cron.enqueued",
                    metadata: ["job.kind": "\(scheduled.kind)", "job.id": "\(id)", "job.scheduled_at": "\(due)"])
            }
        }
    }
}
