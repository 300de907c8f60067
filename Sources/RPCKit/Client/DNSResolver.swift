internal import NIOPosix
internal import RPCCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Resolves host names to addresses with the system resolver (getaddrinfo), off the event loops.
enum DNSResolver {
    /// Every address `endpoint.host` resolves to, with `endpoint.port`; an address literal is
    /// returned as it is.
    static func resolve(_ endpoint: Endpoint) async throws -> [Endpoint] {
        if Self.isAddressLiteral(endpoint.host) { return [endpoint] }
        return try await NIOThreadPool.singleton.runIfActive {
            try Self.lookup(endpoint)
        }
    }

    static func isAddressLiteral(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    private static func lookup(_ endpoint: Endpoint) throws -> [Endpoint] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &result)
        guard status == 0, let first = result else {
            throw RPCError(.unavailable, "cannot resolve \(endpoint.host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(first) }
        var endpoints: [Endpoint] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(entry.pointee.ai_addr, entry.pointee.ai_addrlen, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                let address = Endpoint(host: text, port: endpoint.port)
                if !endpoints.contains(address) { endpoints.append(address) }
            }
            cursor = entry.pointee.ai_next
        }
        return endpoints
    }
}
