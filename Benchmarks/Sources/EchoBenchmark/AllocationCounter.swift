#if canImport(Glibc)
    import Glibc
#endif

/// Counts this process's allocations with ordo-one's malloc interposer, when it is preloaded
/// (`LD_PRELOAD=.../libMallocInterposerSwift.so`, as run.sh does).
///
/// The executable does not link the interposer: its C entry points are looked up at run time, so
/// that the benchmark also runs without it (then allocations are not counted), for example under
/// valgrind or perf.
enum AllocationCounter {
    private typealias Switch = @convention(c) () -> Void
    private typealias Statistics =
        @convention(c) (
            UnsafeMutablePointer<Int64>, UnsafeMutablePointer<Int64>, UnsafeMutablePointer<Int64>,
            UnsafeMutablePointer<Int64>, UnsafeMutablePointer<Int64>, UnsafeMutablePointer<Int64>
        ) -> Void

    private struct Interposer {
        let enable: Switch
        let disable: Switch
        let reset: Switch
        let statistics: Statistics

        static func find() -> Interposer? {
            func symbol<Function>(_ name: String, as type: Function.Type) -> Function? {
                dlsym(UnsafeMutableRawPointer(bitPattern: 0), name).map { unsafeBitCast($0, to: type) }
            }
            guard let enable = symbol("malloc_interposer_enable", as: Switch.self),
                let disable = symbol("malloc_interposer_disable", as: Switch.self),
                let reset = symbol("malloc_interposer_reset", as: Switch.self),
                let statistics = symbol("malloc_interposer_get_stats", as: Statistics.self)
            else { return nil }
            return Interposer(enable: enable, disable: disable, reset: reset, statistics: statistics)
        }

        var mallocCount: Int {
            var counts = [Int64](repeating: 0, count: 6)  // mallocs, bytes, small, large, frees, bytes freed
            counts.withUnsafeMutableBufferPointer { counts in
                let base = counts.baseAddress!
                self.statistics(base, base + 1, base + 2, base + 3, base + 4, base + 5)
            }
            return Int(counts[0])
        }
    }

    private static let interposer = Interposer.find()

    /// Whether the interposer is loaded and sees allocations, checked once with a test allocation.
    static let isInterposed: Bool = {
        guard let interposer = Self.interposer else { return false }
        // Called through a pointer looked up at run time, so the compiler cannot drop the pair.
        guard let allocate = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc") else { return false }
        interposer.reset()
        interposer.enable()
        free(unsafeBitCast(allocate, to: (@convention(c) (Int) -> UnsafeMutableRawPointer?).self)(64))
        interposer.disable()
        return interposer.mallocCount > 0
    }()

    /// Resets the count and starts counting, in every thread of the process.
    static func start() {
        Self.interposer?.reset()
        Self.interposer?.enable()
    }

    /// Stops counting and returns the allocations (malloc, calloc, realloc, posix_memalign, ...)
    /// since `start()`.
    static func stop() -> Int {
        Self.interposer?.disable()
        return Self.lastCount
    }

    /// The count of the last window, without changing anything.
    static var lastCount: Int {
        Self.interposer?.mallocCount ?? 0
    }
}
