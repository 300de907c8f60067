internal import PixEcomProtos
internal import RPCCore

extension RPCClient {
    /// Keeps the channel's view of its endpoints current until the task is cancelled: asks every
    /// endpoint's health service each `healthCheckInterval` (NOT_SERVING takes it out of rotation,
    /// SERVING brings it back) and re-resolves DNS names each `resolutionInterval`.
    public func run() async throws {
        var lastResolution = ContinuousClock.now
        while !Task.isCancelled {
            if ContinuousClock.now - lastResolution >= self.configuration.resolutionInterval {
                await self.resolve()
                lastResolution = .now
            }
            await self.checkHealth()
            do {
                try await Task.sleep(for: self.configuration.healthCheckInterval)
            } catch {
                return
            }
        }
    }

    /// Re-resolves the configured endpoints and updates the balancer. Keeps the old list when
    /// nothing resolves (a DNS outage must not empty the channel).
    func resolve() async {
        var resolved: [Endpoint] = []
        for endpoint in self.configuration.endpoints {
            if let addresses = try? await DNSResolver.resolve(endpoint) {
                for address in addresses where !resolved.contains(address) { resolved.append(address) }
            }
        }
        guard !resolved.isEmpty else { return }
        self.state.withLockedValue { $0.balancer.update(endpoints: resolved) }
    }

    /// One round of health checks, all endpoints at once.
    func checkHealth() async {
        let endpoints = self.state.withLockedValue { $0.balancer.endpoints }
        let timeout = self.configuration.healthCheckTimeout
        await withTaskGroup(of: Void.self) { group in
            for endpoint in endpoints {
                group.addTask {
                    let health = await self.checkHealth(of: endpoint, timeout: timeout)
                    self.state.withLockedValue { $0.balancer.healthChanged(of: endpoint, to: health) }
                }
            }
        }
    }

    /// Asks one endpoint directly (no balancing, no retries). An endpoint that cannot be reached
    /// or does not answer in time is NOT_SERVING; one without a health service (UNIMPLEMENTED)
    /// keeps an unknown health, which is eligible; one that refused the check unprocessed (at its
    /// call limit) keeps the health it had: busy is not unhealthy.
    func checkHealth(of endpoint: Endpoint, timeout: Duration) async -> LoadBalancer.Health {
        let connection: ClientConnection
        do {
            connection = try await self.connection(to: endpoint)
        } catch {
            return .notServing
        }
        do {
            let request = WireRequest(
                method: "pixecom.health.v1.Health/Check", payload: try Pixecom_Health_V1_HealthCheckRequest().serializedBuffer())
            let payload = try await connection.unary(request, deadline: .now + timeout)
            let response = try Pixecom_Health_V1_HealthCheckResponse(buffer: payload)
            return response.status == .serving ? .serving : .notServing
        } catch let error as RPCError where error.code == .unimplemented {
            return .unknown
        } catch is UnprocessedCallError {
            return self.state.withLockedValue { $0.balancer.health(of: endpoint) } ?? .unknown
        } catch {
            return .notServing
        }
    }
}

extension RPCClient {
    /// Asks the service's health service through the channel (any healthy replica): returns when
    /// one answers SERVING, throws UNAVAILABLE otherwise. For readiness checks.
    public func requireServing(timeout: Duration = .seconds(2)) async throws {
        let response = try await self.unary(
            "pixecom.health.v1.Health/Check",
            Pixecom_Health_V1_HealthCheckRequest(),
            as: Pixecom_Health_V1_HealthCheckResponse.self,
            timeout: timeout,
            idempotent: true
        )
        guard response.status == .serving else {
            throw RPCError(.unavailable, "\(self.configuration.serverService) answers \(response.status)")
        }
    }
}
