import ServiceKit

/// Token buckets per key (a client address, a seller): each holds up to `burst` tokens, refills
/// at `perSecond`, and a request takes one. Pure: the caller passes the time and keeps it under a
/// lock.
///
/// Memory stays bounded: beyond `maxKeys` buckets, the full ones (idle keys, which behave exactly
/// like absent ones) are dropped, and if that is not enough, the fuller half: the buckets of keys
/// being limited right now are the last to go, so a flood of new keys cannot reset them.
struct TokenBuckets: Sendable {
    struct Limit: Sendable, Hashable {
        var perSecond: Double
        var burst: Double
    }

    private struct Bucket: Sendable {
        var tokens: Double
        var updated: ContinuousClock.Instant

        mutating func take(now: ContinuousClock.Instant, limit: Limit) -> Duration? {
            let elapsed = (now - self.updated).inSeconds
            self.tokens = min(limit.burst, self.tokens + max(0, elapsed) * limit.perSecond)
            self.updated = now
            if self.tokens >= 1 {
                self.tokens -= 1
                return nil
            }
            let missing = 1 - self.tokens
            return .milliseconds(Int64((missing / limit.perSecond * 1000).rounded(.up)))
        }
    }

    let limit: Limit
    let maxKeys: Int
    private var buckets: [String: Bucket] = [:]

    init(limit: Limit, maxKeys: Int = 100_000) {
        self.limit = limit
        self.maxKeys = maxKeys
    }

    var count: Int { self.buckets.count }

    /// Takes a token for `key`: nil when the request may go on, else how long until one is there.
    mutating func take(_ key: String, now: ContinuousClock.Instant) -> Duration? {
        if self.buckets.count >= self.maxKeys, self.buckets[key] == nil { self.evict(now: now) }
        // One hash of the key: the bucket is changed in place.
        let limit = self.limit
        return self.buckets[key, default: Bucket(tokens: limit.burst, updated: now)].take(now: now, limit: limit)
    }

    private mutating func evict(now: ContinuousClock.Instant) {
        let limit = self.limit
        func level(_ bucket: Bucket) -> Double { bucket.tokens + (now - bucket.updated).inSeconds * limit.perSecond }
        self.buckets = self.buckets.filter { _, bucket in level(bucket) < limit.burst }
        if self.buckets.count >= self.maxKeys {
            let kept = self.buckets.sorted { level($0.value) < level($1.value) }.prefix(self.maxKeys / 2)
            self.buckets = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
        }
    }
}
