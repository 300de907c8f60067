import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Makes NIO's event loops Swift Concurrency's global executor: a task without an executor
/// preference runs on the event loop that resumed it (the one that did its I/O), with no hop to
/// the cooperative pool and back.
///
/// How a job runs matters as much as where. SwiftNIO's own take-over
/// (`NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`)
/// runs each job *isolated to the event loop as a serial executor*. Every nonisolated async
/// function then starts with a hop to the generic executor that the runtime cannot make in place
/// from a custom serial executor, so it enqueues the task again: measured in the edge, about 80
/// extra event-loop jobs per HTTP request. Here a job runs as the runtime's own pool would run
/// it (no serial executor) under the default task executor, so those hops cost nothing.
///
/// The runtime's documented extension point for this is the `swift_task_enqueueGlobal_hook`
/// variable of libswift_Concurrency; it is set once, at start-up, before any task is enqueued.
enum EventLoopGlobalExecutor {
    /// `void (*)(Job *, void (*original)(Job *))` in the Swift calling convention.
    typealias Hook = @convention(thin) (UnownedJob, @convention(thin) (UnownedJob) -> Void) -> Void

    /// Installs the hook; false when the runtime has no hook variable or one is already set.
    static func install() -> Bool {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "swift_task_enqueueGlobal_hook") else { return false }
        let slot = symbol.assumingMemoryBound(to: UnsafeRawPointer?.self)
        guard slot.pointee == nil else { return false }
        _ = Self.loops
        let hook: Hook = { job, _ in
            EventLoopGlobalExecutor.loops.run(job)
        }
        // A thin function value is the function's address.
        slot.pointee = unsafeBitCast(hook, to: UnsafeRawPointer.self)
        return true
    }

    static let loops = LoopJobRunner(group: .singleton)
}

/// Runs global jobs on the current event loop (or the group's next one off the loops), as a task
/// executor: a job runs with no serial executor, as on the runtime's own pool.
final class LoopJobRunner: TaskExecutor, @unchecked Sendable {
    // @unchecked: immutable after init; event loops are thread-safe.
    private let group: MultiThreadedEventLoopGroup

    init(group: MultiThreadedEventLoopGroup) {
        self.group = group
    }

    func run(_ job: UnownedJob) {
        self.group.any().execute {
            job.runSynchronously(on: LoopJobRunner.defaultExecutor)
        }
    }

    static let defaultExecutor = globalConcurrentExecutor.asUnownedTaskExecutor()

    func enqueue(_ job: consuming ExecutorJob) {
        self.run(UnownedJob(job))
    }
}
