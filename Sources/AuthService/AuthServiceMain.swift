import Foundation
import RPCKit
import ServiceKit

/// AuthService: sellers and their users, passwords, Ed25519-signed access tokens and rotating
/// refresh tokens. The only process that holds signing keys.
///
/// Reads `PIXECOM_AUTH_TOKEN_HASH_KEY` (or `_FILE`) beside the settings every service reads
/// (`ServiceConfiguration`); see `AuthConfiguration` for the rest.
@main
struct AuthServiceMain {
    static func main() async {
        exit(await ServiceRuntime.main(Self.definition))
    }

    /// The service, for `ServiceRuntime`: run by `main`, and by tests inside the test process.
    static let definition = ServiceDefinition(
        name: "auth",
        defaultRPCPort: 7001,
        defaultAdminPort: 9001,
        migrations: Bundle.module.url(forResource: "Migrations", withExtension: nil),
        setup: Self.setup
    )

    /// Builds the handlers, once the migrations have run.
    static func setup(_ context: RuntimeContext) async throws -> ServiceSetup {
        let configuration = try AuthConfiguration(environment: context.environment, mode: context.configuration.mode)
        let secrets = AuthSecrets(hashKey: configuration.tokenHashKey)
        let hasher = PasswordHasher(configuration: configuration.passwordHashing, logger: context.logger)
        let keys = SigningKeys(db: context.db, secrets: secrets, logger: context.logger, schedule: configuration.signingKeys)
        try await keys.load()
        if let file = configuration.demoSeedFile {
            try await DemoSeed(file: file, accounts: AccountStore(db: context.db), hasher: hasher).ensure(logger: context.logger)
        }
        // AuthService verifies the tokens it minted with its own key set, without an RPC.
        let verifier = TokenVerifier { keys.published() }
        let audit = AuditLog(db: context.db)
        let handlers = AuthHandlers(
            accounts: AccountStore(db: context.db),
            hasher: hasher,
            issuer: TokenIssuer(
                keys: keys,
                refreshTokens: RefreshTokenStore(db: context.db, secrets: secrets, lifetimes: configuration.refreshLifetimes)
            ),
            verifier: verifier,
            members: MemberStore(db: context.db, secrets: secrets, audit: audit),
            throttle: LoginThrottle(db: context.db, configuration: configuration.loginThrottle),
            audit: audit,
            apiKeys: ApiKeyStore(db: context.db, secrets: secrets, audit: audit)
        )
        var router = RPCRouter()
        handlers.addMethods(to: &router)
        return ServiceSetup(
            router: router,
            access: .auth,
            verifier: verifier,
            services: [hasher, keys],
            readiness: ["signing_key": { _ = try keys.current() }]
        )
    }
}
