import Foundation
import NIOCore
import NIOPosix

/// Looks TXT records up with one DNS server over UDP (`DNSMessage` writes and reads the bytes).
///
/// A query is sent up to `attempts` times, each waiting `timeout` for its answer; answers to
/// other ids are dropped (a late answer to an earlier attempt, or a spoof). An answer cut short
/// (TC) is reported as such: TCP is not tried, since verification TXT records are small.
struct DNSResolver: Sendable {
    var server: SocketAddress
    var timeout: Duration = .seconds(2)
    var attempts = 2

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The server named by `PIXECOM_DNS_SERVER` ("host:port" or "host"), else the first
    /// `nameserver` of /etc/resolv.conf, on port 53.
    static func fromEnvironment(_ value: String?) throws -> DNSResolver {
        if let value, !value.isEmpty {
            let parts = value.split(separator: ":", maxSplits: 1)
            let port = parts.count == 2 ? Int(parts[1]) : 53
            guard let port, (1...65535).contains(port) else { throw Failure(description: "PIXECOM_DNS_SERVER has a bad port") }
            return DNSResolver(server: try SocketAddress(ipAddress: String(parts[0]), port: port))
        }
        let conf = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
        for line in conf.split(separator: "\n") {
            let fields = line.split(whereSeparator: \.isWhitespace)
            if fields.count >= 2, fields[0] == "nameserver", let address = try? SocketAddress(ipAddress: String(fields[1]), port: 53) {
                return DNSResolver(server: address)
            }
        }
        throw Failure(description: "no DNS server: set PIXECOM_DNS_SERVER or a nameserver in /etc/resolv.conf")
    }

    func txt(_ name: String) async throws -> DNSMessage.Answer {
        var lastError: any Error = Failure(description: "no attempt made")
        for _ in 0..<max(1, self.attempts) {
            let id = UInt16.random(in: 0...UInt16.max)
            do {
                return try await self.exchange(DNSMessage.txtQuery(id: id, name: name), id: id)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    private func exchange(_ query: [UInt8], id: UInt16) async throws -> DNSMessage.Answer {
        let server = self.server
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: DNSMessage.Answer.self)
        let channel: any Channel
        do {
            channel = try await DatagramBootstrap(group: loop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(AnswerHandler(id: id, server: server, promise: promise))
                    }
                }
                .bind(host: server.protocol == .inet6 ? "::" : "0.0.0.0", port: 0).get()
        } catch {
            promise.fail(error)  // a promise is always completed
            throw error
        }
        let timeout = self.timeout
        // On the channel's loop, like the handler: whichever comes first completes the promise.
        let timer = loop.scheduleTask(in: .milliseconds(Int64(timeout.inSeconds * 1000))) {
            promise.fail(Failure(description: "no answer from the DNS server \(server) within \(timeout)"))
        }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: query)))
        return try await promise.futureResult.get()
    }
}

/// Completes the exchange's promise with the first datagram from the server that answers the
/// query; other datagrams are dropped. Lives on the channel's event loop.
private final class AnswerHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let id: UInt16
    let server: SocketAddress
    let promise: EventLoopPromise<DNSMessage.Answer>

    init(id: UInt16, server: SocketAddress, promise: EventLoopPromise<DNSMessage.Answer>) {
        self.id = id
        self.server = server
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        guard envelope.remoteAddress == self.server,
            let answer = try? DNSMessage.parseTXTResponse(Array(envelope.data.readableBytesView), id: self.id)
        else { return }
        self.promise.succeed(answer)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.promise.fail(error)
    }
}
