import Foundation
import RPCKit
import ServiceKit
import ServiceLifecycle

/// OrderService: orders with line items, an append-only history of payment transactions and
/// status changes from which each order's statuses are derived, Stripe webhooks applied by jobs,
/// and revenue events sent to StatsService through a transactional outbox.
///
/// Reads `PIXECOM_AUTH_ADDRESSES` (token verification keys) and `PIXECOM_STATS_ADDRESSES` (where
/// the outbox's delivery jobs send order events, and the storefront's funnel events go).
@main
struct OrderServiceMain {
    static func main() async {
        exit(await ServiceRuntime.main(Self.definition))
    }

    /// The service, for `ServiceRuntime`: run by `main`, and by tests inside the test process.
    static let definition = ServiceDefinition(
        name: "orders",
        defaultRPCPort: 7004,
        defaultAdminPort: 9004,
        migrations: Bundle.module.url(forResource: "Migrations", withExtension: nil),
        setup: Self.setup
    )

    /// Builds the handlers, once the migrations have run.
    static func setup(_ context: RuntimeContext) async throws -> ServiceSetup {
        let auth = try context.client(for: "auth", addressesVariable: "PIXECOM_AUTH_ADDRESSES")
        let stats = try context.client(for: "stats", addressesVariable: "PIXECOM_STATS_ADDRESSES")
        let verifier = try context.tokenVerifier(auth: auth)
        // `PIXECOM_STRIPE_WEBHOOK_SECRETS`: the endpoint secrets (whsec_...), comma-separated
        // while one is being rotated; without it webhook deliveries are refused.
        let secrets = (context.environment.string("PIXECOM_STRIPE_WEBHOOK_SECRETS") ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let store = OrderStore(db: context.db)
        // `PIXECOM_DNS_SERVER` ("host:port"): where domain verification looks TXT records up;
        // the system's resolver (/etc/resolv.conf) when unset.
        let domains = DomainStore(
            db: context.db, resolver: try? DNSResolver.fromEnvironment(context.environment.string("PIXECOM_DNS_SERVER")))
        let handlers = OrderHandlers(
            verifier: verifier,
            store: store,
            sellPages: SellPageStore(db: context.db),
            domains: domains,
            webhooks: StripeWebhooks(signature: secrets.isEmpty ? nil : StripeSignature(secrets: secrets), db: context.db),
            stats: StatsServiceClient(stats)
        )
        var router = RPCRouter()
        handlers.addMethods(to: &router)
        var jobs = JobKinds()
        jobs.register(StatsEventPublisher.delivery(db: context.db, stats: stats, logger: context.logger))
        jobs.register(WebhookApplication(db: context.db))
        try jobs.register(IdempotencyPrune(store: store), schedule: CronSchedule("17 * * * *"), args: IdempotencyPrune.Args())
        jobs.register(OrderImportJob(db: context.db))
        try jobs.register(OrderImportSweep(db: context.db), schedule: CronSchedule("23 * * * *"), args: OrderImportSweep.Args())
        if domains.resolver != nil {
            try jobs.register(DomainRecheck(store: domains), schedule: CronSchedule("41 * * * *"), args: DomainRecheck.Args())
        }
        var services: [any Service & Sendable] = []
        // `PIXECOM_TRACKING_API_KEY`: the 17TRACK key; without it shipments keep the status
        // SHIPMENT_UNKNOWN and nothing is looked up. `PIXECOM_TRACKING_API_URL`: the API's base
        // (https://api.17track.net/track/v2.2 by default); `PIXECOM_TRACKING_CA_FILE`: a PEM
        // bundle trusted besides the system's (a stand-in's CA).
        if let key = context.environment.string("PIXECOM_TRACKING_API_KEY"), !key.isEmpty {
            let http = try TrackingHTTPClient.make(caFile: context.environment.string("PIXECOM_TRACKING_CA_FILE"))
            services.append(http)
            let provider = TrackingProvider(
                http: http.client, baseURL: context.environment.string("PIXECOM_TRACKING_API_URL") ?? TrackingProvider.defaultBaseURL,
                token: key)
            try jobs.register(
                TrackingRefresh(db: context.db, provider: provider), schedule: CronSchedule("*/30 * * * *"), args: TrackingRefresh.Args())
        }
        return ServiceSetup(router: router, access: .orders, verifier: verifier, services: services, jobs: jobs)
    }
}
