import Foundation
import Synchronization

/// The last lines a service running in the test process logged (the JSON lines its process would
/// print, `JSONLogHandler`), for failure messages; the test output stays quiet otherwise.
/// Thread-safe.
final class InMemoryLog: Sendable {
    private let lines = Mutex<[String]>([])
    /// Lines kept; older ones are dropped.
    private let limit: Int

    init(limit: Int = 500) {
        self.limit = limit
    }

    func append(_ data: Data) {
        let line = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
        self.lines.withLock { lines in
            lines.append(line)
            if lines.count > self.limit { lines.removeFirst(lines.count - self.limit) }
        }
    }

    func tail(_ count: Int) -> String {
        self.lines.withLock { $0.suffix(count).joined(separator: "\n") }
    }
}
