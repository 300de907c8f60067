import Foundation

/// The server child's side of the control pipe. The parent writes one command per line to the
/// child's stdin and reads one reply line from its stdout:
///
/// - `allocations on`: reset the allocation count and start counting; replies `ok`
/// - `allocations off`: stop counting; replies `ok`
/// - `snapshot`: replies with a `CounterSnapshot` line
///
/// The commands are read on a dedicated thread, so the server's event loops and Swift
/// concurrency threads stay free. When stdin closes (the parent ended) the process exits.
enum ServerControl {
    /// The first line the child prints: `ready port=N`.
    static let readyPrefix = "ready port="

    static func startAnsweringCommands() {
        let thread = Thread {
            while let command = readLine(strippingNewline: true) {
                self.reply(self.answer(command))
            }
            exit(0)
        }
        thread.name = "benchmark-control"
        thread.start()
    }

    static func answer(_ command: String) -> String {
        switch command {
        case "allocations on":
            AllocationCounter.start()
            return "ok"
        case "allocations off":
            _ = AllocationCounter.stop()
            return "ok"
        case "snapshot":
            return CounterSnapshot(
                kernelWriteSyscalls: WriteSyscallCounter.kernelWriteSyscalls(),
                socketWrites: WriteSyscallCounter.socketWrites(),
                allocations: AllocationCounter.lastCount
            ).line
        default:
            return "error unknown command: \(command)"
        }
    }

    /// Writes one line to stdout, unbuffered.
    static func reply(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
