public import NIOCore

/// Runs Swift tasks on a NIO event loop thread.
///
/// An RPC connection's calls (and the edge's HTTP requests) run with this executor as their
/// task-executor preference, so a handler starts on the thread that read its request and writes
/// its response from that same thread: no hop to the cooperative pool and back for each call.
/// Work that suspends resumes here too.
/// Handlers must not block (they are ordinary async functions; CPU-heavy work such as password
/// hashing belongs on a thread pool).
public final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `eventLoop` is immutable and event loops are thread-safe.
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
