import Foundation
import RPCKit
import ServiceKit

/// StatsService: daily ad insights and order revenue per campaign, with ratios computed when read.
///
/// Reads `PIXECOM_AUTH_ADDRESSES` (token verification keys) and `PIXECOM_CAMPAIGN_ADDRESSES` (where ads
/// and campaigns sit: one `DescribePlacements` call per batch, as StatsService, for the seller of
/// the call, so CampaignService's row-level security still decides what exists).
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
        let revenue = RevenueStore(db: context.db)
        let handlers = StatsHandlers(
            verifier: verifier,
            campaigns: CampaignDirectory(client: campaigns),
            insights: InsightsStore(db: context.db),
            revenue: revenue,
            funnel: FunnelStore(db: context.db)
        )
        var router = RPCRouter()
        handlers.addMethods(to: &router)
        var jobs = JobKinds()
        jobs.register(RevenueReaggregation(store: revenue))
        return ServiceSetup(router: router, access: .stats, verifier: verifier, jobs: jobs)
    }
}
