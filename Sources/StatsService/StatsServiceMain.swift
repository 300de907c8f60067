import Foundation
import RPCKit
import ServiceKit

/// StatsService: daily ad insights and order revenue per campaign, with ratios computed when read.
///
/// Reads `PIXECOM_AUTH_ADDRESSES` (token verification keys) and `PIXECOM_CAMPAIGN_ADDRESSES` (ad and
/// campaign lookups made on the caller's behalf, so CampaignService enforces tenancy).
@main
struct StatsServiceMain {
    static func main() async {
        exit(await ServiceRuntime.main(Self.definition))
    }

    /// The service, for `ServiceRuntime`: run by `main`, and by tests inside the test process.
    static let definition = ServiceDefinition(
        name: "stats",
        defaultRPCPort: 7003,
        defaultAdminPort: 9003,
        migrations: Bundle.module.url(forResource: "Migrations", withExtension: nil),
        setup: Self.setup
    )

    /// Builds the handlers, once the migrations have run.
    static func setup(_ context: RuntimeContext) async throws -> ServiceSetup {
        let auth = try context.client(for: "auth", addressesVariable: "PIXECOM_AUTH_ADDRESSES")
        let campaigns = try context.client(for: "campaign", addressesVariable: "PIXECOM_CAMPAIGN_ADDRESSES")
        let verifier = try context.tokenVerifier(auth: auth)
        let handlers = StatsHandlers(
            verifier: verifier,
            campaigns: CampaignDirectory(client: campaigns),
            insights: InsightsStore(db: context.db),
            revenue: RevenueStore(db: context.db)
        )
        var router = RPCRouter()
        handlers.addMethods(to: &router)
        return ServiceSetup(router: router, access: .stats, verifier: verifier)
    }
}
