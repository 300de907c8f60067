import NIOCore
import NIOPosix
@testable import RPCKit
import Testing

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
}
