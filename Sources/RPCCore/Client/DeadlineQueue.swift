/// The deadlines of a connection's open calls, earliest first, so that one timer per connection
/// serves every call instead of one timer each.
///
/// A min-heap with lazy deletion: a call that ends before its deadline stays in the heap until it
/// reaches the top, where `popExpired` skips it (the caller says which ids are still open). So that
/// ended calls cannot pile up (30-second deadlines at tens of thousands of calls a second), the
/// heap is rebuilt from the open calls once it holds more than twice as many entries as there are
/// open calls: O(1) amortised per call, memory bounded by the calls in flight.
/// Invariant: `earliest` is the smallest deadline among the entries.
public struct DeadlineQueue<ID: Hashable> {
    @usableFromInline var heap: [(deadline: ContinuousClock.Instant, id: ID)] = []

    @inlinable public init() {}

    @inlinable public var isEmpty: Bool { self.heap.isEmpty }
    @inlinable public var count: Int { self.heap.count }

    /// The earliest deadline in the queue.
    @inlinable public var earliest: ContinuousClock.Instant? { self.heap.first?.deadline }

    /// Adds a deadline; returns true when it became the earliest (the timer must move).
    @discardableResult
    @inlinable
    public mutating func insert(_ id: ID, deadline: ContinuousClock.Instant) -> Bool {
        self.heap.append((deadline, id))
        var child = self.heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard self.heap[child].deadline < self.heap[parent].deadline else { break }
            self.heap.swapAt(child, parent)
            child = parent
        }
        return child == 0
    }

    /// Removes and returns the ids whose deadline is at or before `now` and that are still open.
    @inlinable
    public mutating func popExpired(now: ContinuousClock.Instant, isOpen: (ID) -> Bool) -> [ID] {
        var expired: [ID] = []
        while let top = self.heap.first, top.deadline <= now {
            self.removeTop()
            if isOpen(top.id) { expired.append(top.id) }
        }
        return expired
    }

    /// Drops entries of calls that have ended from the top of the heap, so that `earliest` names a
    /// live deadline when there is one.
    @inlinable
    public mutating func trim(isOpen: (ID) -> Bool) {
        while let top = self.heap.first, !isOpen(top.id) {
            self.removeTop()
        }
    }

    /// Rebuilds the heap without ended calls when they outnumber the open ones.
    @inlinable
    public mutating func compactIfNeeded(openCount: Int, isOpen: (ID) -> Bool) {
        guard self.heap.count > 2 * openCount + 64 else { return }
        self.heap.removeAll { !isOpen($0.id) }
        // Floyd's heap construction: sift down every parent, last first.
        var index = self.heap.count / 2 - 1
        while index >= 0 {
            self.siftDown(from: index)
            index -= 1
        }
    }

    @inlinable
    public mutating func removeAll() {
        self.heap.removeAll(keepingCapacity: true)
    }

    @inlinable
    mutating func removeTop() {
        let last = self.heap.removeLast()
        guard !self.heap.isEmpty else { return }
        self.heap[0] = last
        self.siftDown(from: 0)
    }

    @inlinable
    mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < self.heap.count && self.heap[left].deadline < self.heap[smallest].deadline { smallest = left }
            if right < self.heap.count && self.heap[right].deadline < self.heap[smallest].deadline { smallest = right }
            guard smallest != parent else { return }
            self.heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
