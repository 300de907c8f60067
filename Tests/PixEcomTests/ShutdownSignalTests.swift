import Foundation
import PixEcomProtos
import RPCKit
import Testing

/// SIGTERM and SIGINT end every executable the same way: a drain (GOAWAY, calls in flight finish),
/// then exit status 0. `EchoServer` used to die on either signal with SIGILL: its own Dispatch
/// signal handler was a closure isolated to the main actor, run by Dispatch on another thread.
@Suite("SIGTERM and SIGINT drain every executable")
struct ShutdownSignalTests {
    let certificates: TestCertificates

    init() throws {
        self.certificates = try TestCertificates.shared.get()
    }

    private func startEchoServer() async throws -> ServiceProcess {
        let process = ServiceProcess(
            name: "echo-signal",
            executable: "EchoServer",
            environment: ["PIXECOM_ECHO_CERTIFICATE_DIR": self.certificates.directory.path],
            directory: try TestEnvironment.temporaryDirectory("pixecom-echo-signal")
        )
        try await process.start()
        return process
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func anIdleEchoServerExitsCleanly(signal: Int32) async throws {
        let process = try await self.startEchoServer()
        #expect(await process.stop(signal: signal) == .exited(0), "\(process.logTail())")
    }

    /// A stream in flight when the signal arrives is served to its end; then the process exits 0.
    @Test(arguments: [SIGTERM, SIGINT])
    func theEchoServerFinishesACallInFlightThenExitsCleanly(signal: Int32) async throws {
        let process = try await self.startEchoServer()
        let client = try EchoServer.client(to: [Endpoint(host: "127.0.0.1", port: process.rpcPort)], self.certificates)
        var request = Pixecom_Testing_V1_ExpandRequest()
        request.payload = Data("m".utf8)
        request.count = 4
        request.intervalMicros = 300_000
        let sequences = try await client.serverStreaming(EchoServer.expand, request, as: EchoServer.Response.self) { stream in
            var sequences: [UInt64] = []
            var signalled = false
            for try await message in stream {
                sequences.append(message.sequence)
                if !signalled {
                    // The call is in flight: the first message arrived.
                    signalled = true
                    kill(try #require(process.processIdentifier), signal)
                }
            }
            return sequences
        }
        #expect(sequences == [0, 1, 2, 3])
        #expect(await process.stop(signal: signal) == .exited(0), "\(process.logTail())")
        await client.close()
    }

    /// The four services and the edge, each sent the signal while idle.
    @Test(arguments: [SIGTERM, SIGINT])
    func everyServiceAndTheEdgeExitCleanly(signal: Int32) async throws {
        let system = try await PixEcomSystem.start(mode: .processes)
        for process in system.processes {
            let ending = await process.stop(signal: signal)
            #expect(ending == .exited(0), "\(process.name) \(ending):\n\(process.logTail())")
        }
    }
}
