/// The server process's counters at one moment, as sent over the control pipe:
/// `snapshot syscw=N socket_writes=N mallocs=N`.
struct CounterSnapshot: Sendable {
    /// Write syscalls of the whole process so far (`syscw` of /proc/self/io).
    var kernelWriteSyscalls: UInt64
    /// write/writev calls on socket descriptors so far (see SyscallCounter).
    var socketWrites: UInt64
    /// Allocations counted while allocation counting was last on.
    var allocations: Int

    static let prefix = "snapshot"

    var line: String {
        "\(Self.prefix) syscw=\(self.kernelWriteSyscalls) socket_writes=\(self.socketWrites) mallocs=\(self.allocations)"
    }

    init(kernelWriteSyscalls: UInt64, socketWrites: UInt64, allocations: Int) {
        self.kernelWriteSyscalls = kernelWriteSyscalls
        self.socketWrites = socketWrites
        self.allocations = allocations
    }

    init?(line: String) {
        let words = line.split(separator: " ")
        guard words.first == Substring(Self.prefix) else { return nil }
        var fields: [Substring: Substring] = [:]
        for word in words.dropFirst() {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        guard let syscw = fields["syscw"].flatMap({ UInt64($0) }),
            let sockets = fields["socket_writes"].flatMap({ UInt64($0) }),
            let mallocs = fields["mallocs"].flatMap({ Int($0) })
        else { return nil }
        self.init(kernelWriteSyscalls: syscw, socketWrites: sockets, allocations: mallocs)
    }
}
