import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// `pixecom-jobs`: the operator's view of one service's job queue (docs/JOBS.md).
@main
struct PixecomJobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pixecom-jobs",
        abstract: "Look at and act on one service's background jobs.",
        discussion: """
            Connects to the service's database (--database-url, or PIXECOM_DATABASE_URL as the service \
            runs). Changes name their jobs by id and report what they did to each; nothing is deleted \
            unless asked by id.
            """,
        subcommands: [Queues.self, List.self, Show.self, Retry.self, Cancel.self, Delete.self]
    )
}

struct Connection: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "postgres://user:password@host:port/database (default: $PIXECOM_DATABASE_URL)")
    var databaseURL: String?

    func withAdmin<T: Sendable>(_ body: @Sendable (JobAdmin) async throws -> T) async throws -> T {
        guard let url = self.databaseURL ?? ProcessInfo.processInfo.environment["PIXECOM_DATABASE_URL"] else {
            throw ValidationError("give --database-url or set PIXECOM_DATABASE_URL")
        }
        var configuration = try DatabaseURL(url, variable: "--database-url").clientConfiguration
        configuration.options.maximumConnections = 1
        var logger = Logger(label: "pixecom-jobs")
        logger.logLevel = .error
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(JobAdmin(client: client, logger: logger))
        }
    }
}

/// Prints what was done to each job; fails (exit 1) when any was refused.
func report(_ outcome: [Int64: String]) throws {
    for (id, what) in outcome.sorted(by: { $0.key < $1.key }) { print("job \(id): \(what)") }
    if outcome.values.contains(where: { $0.hasPrefix("refused") }) { throw ExitCode(1) }
}

func table(_ rows: [[String]]) {
    guard let header = rows.first else { return }
    let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
        print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  "))
    }
}

extension PixecomJobs {
    struct Queues: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per queue: due, scheduled, running and dead jobs, and the oldest due job's wait.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let queues = try await self.connection.withAdmin { try await $0.queues() }
            guard !queues.isEmpty else {
                print("no waiting, running or dead jobs")
                return
            }
            table(
                [["queue", "due", "scheduled", "running", "dead", "oldest due"]]
                    + queues.map {
                        [
                            $0.queue, "\($0.due)", "\($0.scheduled)", "\($0.running)", "\($0.discarded)",
                            String(format: "%.1f s", $0.oldestDueSeconds),
                        ]
                    })
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Jobs in one state, newest first (dead jobs by default), with their last error.")
        @OptionGroup var connection: Connection
        @Option(help: "available, running, completed, cancelled or discarded (dead)") var state = "discarded"
        @Option(help: "only this kind") var kind: String?
        @Option(help: "only this queue") var queue: String?
        @Option(help: "at most this many") var limit = 50

        func run() async throws {
            let (state, kind, queue, limit) = (self.state, self.kind, self.queue, self.limit)
            let jobs = try await self.connection.withAdmin { try await $0.list(state: state, kind: kind, queue: queue, limit: limit) }
            guard !jobs.isEmpty else {
                print("no \(state) jobs")
                return
            }
            table(
                [["id", "kind", "queue", "attempt", "run at / ended", "last error"]]
                    + jobs.map { job in
                        [
                            "\(job.id)", job.kind, job.queue, "\(job.attempt)/\(job.maxAttempts)",
                            (job.finalizedAt ?? job.runAt).formatted(.iso8601),
                            String((job.errors.last ?? "").prefix(100)),
                        ]
                    })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One job, with its arguments and every error it kept.")
        @OptionGroup var connection: Connection
        @Argument(help: "the job's id") var id: Int64

        func run() async throws {
            let id = self.id
            let job = try await self.connection.withAdmin { try await $0.show(id) }
            print("job \(job.id): \(job.kind) in queue \(job.queue), \(job.state), attempt \(job.attempt) of \(job.maxAttempts)")
            print("  args: \(job.args)")
            print("  run at: \(job.runAt.formatted(.iso8601))\(job.finalizedAt.map { ", ended \($0.formatted(.iso8601))" } ?? "")")
            if let owner = job.leaseOwner { print("  held by: \(owner)") }
            if let key = job.uniqueKey { print("  unique key: \(key)") }
            if let key = job.sequenceKey { print("  sequence key: \(key)") }
            print(job.errors.isEmpty ? "  no errors" : "  errors:")
            for error in job.errors { print("    \(error)") }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run dead, cancelled or waiting jobs again now (one more attempt when they are out of attempts).")
        @OptionGroup var connection: Connection
        @Argument(help: "job ids") var ids: [Int64]

        func validate() throws { if self.ids.isEmpty { throw ValidationError("name at least one job id") } }

        func run() async throws {
            let ids = self.ids
            try report(try await self.connection.withAdmin { try await $0.retry(ids) })
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel waiting jobs (running ones are refused).")
        @OptionGroup var connection: Connection
        @Argument(help: "job ids") var ids: [Int64]

        func validate() throws { if self.ids.isEmpty { throw ValidationError("name at least one job id") } }

        func run() async throws {
            let ids = self.ids
            try report(try await self.connection.withAdmin { try await $0.cancel(ids) })
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete finished jobs (dead, cancelled or completed) by id.")
        @OptionGroup var connection: Connection
        @Argument(help: "job ids") var ids: [Int64]

        func validate() throws { if self.ids.isEmpty { throw ValidationError("name at least one job id") } }

        func run() async throws {
            let ids = self.ids
            try report(try await self.connection.withAdmin { try await $0.delete(ids) })
        }
    }
}
