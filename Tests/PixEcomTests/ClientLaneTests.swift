import NIOCore
import NIOPosix
import Testing

@testable import RPCCore
@testable import RPCKit

/// `RPCClient` keeps one connection per event loop of NIO's singleton group: a call made on a
/// loop goes out on that loop's connection, so a request, its RPC and the answer stay on one
/// thread; calls from elsewhere share the first loop's connection.
@Suite("RPCKit client: one connection per event loop")
struct ClientLaneTests {
    let certificates: TestCertificates

    init() throws {
        self.certificates = try TestCertificates.shared.get()
    }

    @Test("a call made on an event loop uses that loop's connection; an off-loop call uses the first loop's")
    func onLoopCallersUseTheirLoopsConnection() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let client = try server.client(self.certificates)
        let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())
        var channels: [ObjectIdentifier] = []
        for loop in loops {
            // Runs on `loop`: the call, then the lookup of the connection it used.
            let (text, connectionLoop, channel) = try await Task(executorPreference: EventLoopTaskExecutor(loop)) {
                #expect(loop.inEventLoop)
                let response = try await client.unary(EchoServer.echo, EchoServer.Request("on-loop"), as: EchoServer.Response.self)
                let connection = try await client.connection(to: server.endpoint)
                return (response.text, connection.channel.eventLoop, ObjectIdentifier(connection.channel))
            }.value
            #expect(text == "on-loop")
            #expect(connectionLoop === loop, "the call on a loop went out on another loop's connection")
            channels.append(channel)
        }
        #expect(Set(channels).count == loops.count, "each loop has a connection of its own")

        // Off every loop (the cooperative pool, unless a test process made NIO the global
        // executor): the first loop's connection.
        let (used, caller) = try await Task.detached {
            _ = try await client.unary(EchoServer.echo, EchoServer.Request("off-loop"), as: EchoServer.Response.self)
            let used = try await client.connection(to: server.endpoint).channel.eventLoop
            return (used, MultiThreadedEventLoopGroup.currentEventLoop)
        }.value
        #expect(used === (caller ?? loops[0]))
        #expect(server.calls == loops.count + 1)
        await client.close()
        await server.stop()
    }

    @Test("a process's Swift tasks run on its NIO event-loop threads: the edge's HTTP handlers use no other thread")
    func tasksRunOnEventLoops() async throws {
        // The seller's rate limit out of the way: 300 requests in a row.
        // In processes: the test reads the CPU time of the edge process's threads.
        let system = try await PixEcomSystem.start(
            mode: .processes,
            edgeEnvironment: [
                "PIXECOM_RATE_SELLER_PER_MINUTE": "60000", "PIXECOM_RATE_SELLER_BURST": "1000",
            ])
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let edgeProcess = try #require(system.edge as? ServiceProcess)
            let seller = try await EndToEndTests.register(edge, name: "Lanes")
            let before = try edgeProcess.threadCPUTimes()
            for _ in 0..<300 {
                let reply = try await edge.send(.GET, "/v1/account", token: seller.token)
                try #require(reply.status == 200, "GET /v1/account: \(reply.status) \(reply.text)")
            }
            let after = try edgeProcess.threadCPUTimes()
            var onLoops: UInt64 = 0
            var elsewhere: [String: UInt64] = [:]
            for (tid, now) in after {
                let used = now.nanoseconds - (before[tid]?.nanoseconds ?? 0)
                if now.name.hasPrefix("NIO-SGLTN-") {
                    onLoops += used
                } else {
                    elsewhere[now.name, default: 0] += used
                }
            }
            // Each request is parsed on a loop thread; its handler, the RPC and the answer run
            // there too. Were tasks run on Swift's own pool, that pool's threads would do about
            // as much work as the loops.
            let other = elsewhere.values.reduce(0, +)
            #expect(onLoops > 0)
            #expect(
                other * 10 < onLoops, "threads other than the event loops used \(other) ns against the loops' \(onLoops) ns: \(elsewhere)")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }
}
