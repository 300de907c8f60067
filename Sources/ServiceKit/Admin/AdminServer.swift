import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus

/// The admin HTTP endpoint of a service, on its own port: `/healthz` (the process is alive),
/// `/readyz` (dependencies answer) and `/metrics` (Prometheus text format).
public enum AdminServer {
    /// A dependency check for `/readyz`; throws when not ready.
    public typealias ReadinessCheck = @Sendable () async throws -> Void

    public static func application(
        host: String,
        port: Int,
        registry: PrometheusCollectorRegistry,
        readiness: [String: ReadinessCheck],
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("/healthz") { _, _ in
            "ok\n"
        }
        router.get("/readyz") { _, _ -> Response in
            var failures: [String] = []
            for (name, check) in readiness.sorted(by: { $0.key < $1.key }) {
                do {
                    try await check()
                } catch {
                    failures.append("\(name): \(error)")
                }
            }
            let body = failures.isEmpty ? "ready\n" : "not ready\n" + failures.joined(separator: "\n") + "\n"
            return Response(
                status: failures.isEmpty ? .ok : .serviceUnavailable,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: body))
            )
        }
        router.get("/metrics") { _, _ -> Response in
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: bytes))
            )
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "pixecom-admin"),
            onServerRunning: { channel in
                await onListening(channel.localAddress?.port ?? port)
            },
            logger: logger
        )
    }
}
