import Foundation
import RPCKit
import ServiceKit

/// CampaignService: the seller's ad accounts, campaigns, ad sets and ads, mirrored on the ad
/// platform (the built-in sandbox for now).
///
/// Reads `PIXECOM_AUTH_ADDRESSES` (AuthService replicas, for token verification keys) and
/// `PIXECOM_PLATFORM_TOKEN_KEYS` (or `_FILE`: the keys that seal the ad platforms' access tokens,
/// `PlatformTokenVault`) beside the settings every service reads (`ServiceConfiguration`).
@main
struct CampaignServiceMain {
    static func main() async {
        exit(await ServiceRuntime.main(Self.definition))
    }

    /// The service, for `ServiceRuntime`: run by `main`, and by tests inside the test process.
    static let definition = ServiceDefinition(
        name: "campaign",
        defaultRPCPort: 7002,
        defaultAdminPort: 9002,
        migrations: Bundle.module.url(forResource: "Migrations", withExtension: nil),
        setup: Self.setup
    )

    /// Builds the handlers, once the migrations have run.
    static func setup(_ context: RuntimeContext) async throws -> ServiceSetup {
        let auth = try context.client(for: "auth", addressesVariable: "PIXECOM_AUTH_ADDRESSES")
        let verifier = try context.tokenVerifier(auth: auth)
        let vault = try PlatformTokenVault(environment: context.environment)
        let handlers = CampaignHandlers(db: context.db, verifier: verifier, platform: SandboxAdPlatform(), vault: vault)
        var router = RPCRouter()
        handlers.addMethods(to: &router)
        var jobs = JobKinds()
        try jobs.register(
            PlatformTokenRotation(store: handlers.connections), schedule: try CronSchedule(PlatformTokenRotation.schedule),
            args: PlatformTokenRotation.Args())
        try jobs.register(
            AssetUploadSweep(store: handlers.assets), schedule: try CronSchedule(AssetUploadSweep.schedule), args: AssetUploadSweep.Args())
        return ServiceSetup(router: router, access: .campaign, verifier: verifier, jobs: jobs)
    }
}
