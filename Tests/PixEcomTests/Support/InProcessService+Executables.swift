import ServiceKit

@testable import AuthService
@testable import CampaignService
@testable import Edge
@testable import OrderService
@testable import StatsService

extension InProcessService {
    /// Runs `executable` inside the test process, as its `main` would (the same definition or run
    /// function), with `environment` instead of the process's.
    convenience init(name: String, executable: String, environment: [String: String]) {
        let run: Run =
            switch executable {
            case "AuthService": { try await ServiceRuntime.run(AuthServiceMain.definition, host: $0) }
            case "CampaignService": { try await ServiceRuntime.run(CampaignServiceMain.definition, host: $0) }
            case "StatsService": { try await ServiceRuntime.run(StatsServiceMain.definition, host: $0) }
            case "OrderService": { try await ServiceRuntime.run(OrderServiceMain.definition, host: $0) }
            case "Edge": { try await EdgeMain.run(host: $0) }
            default: preconditionFailure("no executable \(executable)")
            }
        self.init(name: name, environment: environment, run: run)
    }
}
