import NIOCore
import Testing

@testable import RPCCore
@testable import RPCKit

/// Randomized robustness: a million frames, valid (with any value in every field a peer controls,
/// statuses with any int32 code among them), mutated and random, cut into random pieces,
/// through the frame reader the connections use, the envelope decoder and the server's call state
/// machine. Nothing may crash, the reader must never hold more than one frame's worth of bytes,
/// and the state machine's invariants must hold after every step. Seeded, so a failure replays exactly.
// Serialized: one core for the fuzzing, the other left to the timing-sensitive tests that run
// alongside.
@Suite(.serialized) struct RPCFuzzTests {
    static let maxFrameSize = 4096
    static let maxConcurrentCalls = 16

    /// A random string: empty, ASCII of either case, or arbitrary scalars.
    static func randomString(_ random: inout SeededRandom, maxLength: Int = 24) -> String {
        let count = Int.random(in: 0...maxLength, using: &random)
        switch Int.random(in: 0..<3, using: &random) {
        case 0: return String(repeating: "k", count: count)
        case 1: return String((0..<count).map { _ in Character(UnicodeScalar(UInt8.random(in: 0x20...0x7E, using: &random))) })
        default:
            return String(
                String.UnicodeScalarView(
                    (0..<min(count, 8)).compactMap { _ in UnicodeScalar(UInt32.random(in: 0...0x10FFFF, using: &random)) }))
        }
    }

    /// Any value of every field a peer controls: call ids, method names, metadata, timeouts,
    /// windows, and statuses with a code from any int32, any message, violations and retry delay.
    static func validFrame(_ random: inout SeededRandom) -> WireFrame<ByteBuffer> {
        let id = Bool.random(using: &random) ? UInt64.random(in: 0...40, using: &random) : random.next()
        var payload = ByteBuffer()
        payload.writeRepeatingByte(0x5A, count: Int.random(in: 0...64, using: &random))
        switch Int.random(in: 0..<8, using: &random) {
        case 0, 1, 2:
            var metadata: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                metadata[Self.randomString(&random)] = Self.randomString(&random, maxLength: 200)
            }
            let request = WireRequest(
                method: Bool.random(using: &random)
                    ? ["pixecom.testing.v1.EchoService/Echo", "m", ""].randomElement(using: &random)! : Self.randomString(&random),
                metadata: metadata,
                timeoutMicros: Bool.random(using: &random) ? UInt64.random(in: 0...1_000_000, using: &random) : random.next(),
                payload: payload,
                initialWindow: UInt32.random(in: 0...UInt32.max, using: &random)
            )
            return .request(callID: id, request)
        case 3: return .cancel(callID: id)
        case 4: return .windowUpdate(callID: id, messages: UInt32.random(in: 0...UInt32.max, using: &random))
        case 5: return .goAway(lastCallID: id, reason: Self.randomString(&random))
        case 6: return .ping(opaque: random.next())
        default:
            return .response(callID: id, payload: payload, status: Bool.random(using: &random) ? Self.randomStatus(&random) : nil)
        }
    }

    /// A status as a handler may make it, with a code from any int32 number (most of them
    /// UNKNOWN).
    static func randomStatus(_ random: inout SeededRandom) -> RPCStatus {
        let code = Int32(truncatingIfNeeded: random.next())
        let violations = (0..<Int.random(in: 0...2, using: &random)).map { _ in
            RPCError.FieldViolation(field: Self.randomString(&random), description: Self.randomString(&random))
        }
        return RPCStatus(
            code: RPCError.Code(wireValue: code),
            message: Self.randomString(&random, maxLength: 100),
            fieldViolations: violations,
            retryDelayMillis: Bool.random(using: &random) ? random.next() : nil
        )
    }

    /// The bytes of one frame on the wire, sometimes damaged.
    private static func wireBytes(_ random: inout SeededRandom) -> [UInt8] {
        var buffer = ByteBuffer()
        self.validFrame(&random).write(to: &buffer)
        var bytes = Array(buffer.readableBytesView)
        switch Int.random(in: 0..<10, using: &random) {
        case 0:
            // Flip a few bytes of the body, keeping the length prefix.
            for _ in 0..<Int.random(in: 1...4, using: &random) where bytes.count > 4 {
                bytes[Int.random(in: 4..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
        case 1:
            // Random garbage under a correct length prefix.
            let body = (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            bytes = Self.prefix(body.count) + body
        case 2:
            // An oversized frame announced; its body follows in full, to be skipped.
            let length = Self.maxFrameSize + Int.random(in: 1...3 * Self.maxFrameSize, using: &random)
            bytes = Self.prefix(length) + [0x08, 0x03] + [UInt8](repeating: 0x11, count: length - 2)
        default:
            break
        }
        return bytes
    }

    private static func prefix(_ length: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt32(length).bigEndian, Array.init)
    }

    /// The server state machine and a model of what it should hold.
    private struct Driver {
        var machine = ServerConnectionStateMachine(configuration: .init(maxConcurrentCalls: RPCFuzzTests.maxConcurrentCalls))
        var open: Set<UInt64> = []

        mutating func apply(_ frame: WireFrame<ByteBuffer>, _ random: inout SeededRandom) {
            switch frame {
            case .request(let id, let request):
                switch self.machine.receivedRequest(callID: id, isStream: Bool.random(using: &random), initialWindow: request.initialWindow)
                {
                case .accept:
                    check(!self.open.contains(id))
                    self.open.insert(id)
                case .refuse, .protocolViolation:
                    break
                }
            case .cancel(let id):
                let action = self.machine.cancel(callID: id)
                check((action != .none) == self.open.contains(id))
                self.open.remove(id)
            case .windowUpdate(let id, let messages):
                _ = self.machine.receivedWindowUpdate(callID: id, messages: messages)
                if let credit = self.machine.credit(of: id) {
                    check(credit >= 0 && credit <= self.machine.configuration.maxWindow)
                }
            case .goAway:
                _ = self.machine.receivedGoAway()
            case .ping, .pong, .response, .unknown:
                break
            }
            // Handlers end and streams send, at random.
            if let id = self.open.randomElement(using: &random), Int.random(in: 0..<3, using: &random) == 0 {
                if Bool.random(using: &random) {
                    _ = self.machine.sendMessage(callID: id)
                } else {
                    check(self.machine.finish(callID: id) != .drop)
                    check(self.machine.finish(callID: id) == .drop)
                    self.open.remove(id)
                }
            }
            if Int.random(in: 0..<500, using: &random) == 0 { _ = self.machine.beginDrain() }
            if self.machine.shouldClose || Int.random(in: 0..<2000, using: &random) == 0 {
                check(Set(self.machine.closed()) == self.open)
                self = Driver()
            }
            check(self.machine.openCalls == self.open.count)
            check(self.machine.openCalls <= RPCFuzzTests.maxConcurrentCalls)
        }
    }

    @Test(arguments: [1 as UInt64, 2, 3, 4])
    func aQuarterMillionFramesPerSeed(seed: UInt64) async {
        var random = SeededRandom(seed: seed)
        var reader = FrameReader(maxFrameSize: Self.maxFrameSize)
        var driver = Driver()
        var decoded = 0
        var oversized = 0
        var malformed = 0
        var generated = 0
        let frames = 250_000
        while generated < frames {
            // The loop never suspends otherwise: give the cooperative pool's thread (one of two
            // on this machine) back now and then, so the suites running beside it are not stalled.
            if generated % 2048 == 0 { await Task.yield() }
            // A random piece of the stream: several frames, or part of one.
            var chunk: [UInt8] = []
            for _ in 0..<Int.random(in: 1...4, using: &random) where generated < frames {
                chunk += Self.wireBytes(&random)
                generated += 1
            }
            var offset = 0
            while offset < chunk.count {
                let size = min(chunk.count - offset, Int.random(in: 1...512, using: &random))
                reader.append(ByteBuffer(bytes: chunk[offset..<(offset + size)]))
                offset += size
                while let inbound = reader.next() {
                    switch inbound {
                    case .frame(let frame):
                        decoded += 1
                        driver.apply(frame, &random)
                    case .oversized(_, let length, let limit):
                        oversized += 1
                        check(length > limit)
                    case .malformed:
                        malformed += 1
                    }
                }
                // Never more than one incomplete frame is held.
                check(reader.bufferedBytes <= 4 + Self.maxFrameSize)
            }
        }
        #expect(reader.bufferedBytes == 0, "the decoder lost sync: \(reader.bufferedBytes) bytes left over")
        #expect(decoded + oversized + malformed == frames)
        #expect(decoded > frames / 2 && oversized > 0 && malformed > 0)
    }

    @Test func purelyRandomBytesNeverCrashTheDecoder() async {
        var random = SeededRandom(seed: 99)
        var decoder = FrameDecoder<ByteBuffer>(maxFrameSize: Self.maxFrameSize)
        var pending = ByteBuffer()
        var events = 0
        for round in 0..<200_000 {
            if round % 4096 == 0 { await Task.yield() }
            let count = Int.random(in: 1...64, using: &random)
            pending.writeBytes((0..<count).map { _ in UInt8.random(in: 0...255, using: &random) })
            while decoder.next(&pending) != nil { events += 1 }
            check(pending.readableBytes <= 4 + Self.maxFrameSize)
            pending.discardReadBytes()
        }
        #expect(events > 0)
    }
}

/// `#expect` for hot loops: records an issue only when the condition fails.
private func check(_ condition: Bool, _ comment: @autoclosure () -> String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    if !condition { Issue.record(Comment(rawValue: comment()), sourceLocation: sourceLocation) }
}
