/// The access table of every service: each method maps to the lowest role allowed, to
/// `anyone` (the methods that hand out tokens) or to the internal services allowed to call it.
/// Each service enforces its own table (`ServiceSetup.access`); they live together here so the
/// edge and the tests read the same tables the services enforce.
extension AccessPolicy {
    /// AuthService.
    public static let auth = AccessPolicy([
        // How tokens are obtained: open to every mutual-TLS peer (in practice the edge).
        AuthMethods.register: .anyone,
        AuthMethods.login: .anyone,
        AuthMethods.refresh: .anyone,
        AuthMethods.logout: .anyone,
        AuthMethods.acceptInvitation: .anyone,
        AuthMethods.getPublicKeys: .anyone,
        // Members: everyone sees the team; admins manage it (the owner-only parts are rules of
        // `MemberStore`).
        AuthMethods.listMembers: .role(.viewer),
        AuthMethods.inviteMember: .role(.admin),
        AuthMethods.changeMemberRole: .role(.admin),
        AuthMethods.removeMember: .role(.admin),
        // One's own account.
        AuthMethods.changePassword: .role(.viewer),
        AuthMethods.getCaller: .role(.viewer),
        AuthMethods.listSessions: .role(.viewer),
        AuthMethods.revokeSession: .role(.viewer),
        AuthMethods.listAuditEvents: .role(.admin),
        // API keys: admins manage them; only the edge turns a key into a token.
        AuthMethods.createApiKey: .role(.admin),
        AuthMethods.listApiKeys: .role(.admin),
        AuthMethods.revokeApiKey: .role(.admin),
        AuthMethods.exchangeApiKey: .services(["edge"]),
    ])

    /// CampaignService.
    public static let campaign = AccessPolicy([
        // Connecting an ad account commits the seller's money: admins only.
        CampaignMethods.createAdAccount: .role(.admin),
        CampaignMethods.getAdAccount: .role(.viewer),
        CampaignMethods.listAdAccounts: .role(.viewer),
        CampaignMethods.createCampaign: .role(.editor),
        CampaignMethods.getCampaign: .role(.viewer),
        CampaignMethods.listCampaigns: .role(.viewer),
        CampaignMethods.updateCampaign: .role(.editor),
        CampaignMethods.createAdSet: .role(.editor),
        CampaignMethods.getAdSet: .role(.viewer),
        CampaignMethods.listAdSets: .role(.viewer),
        CampaignMethods.updateAdSet: .role(.editor),
        CampaignMethods.createAd: .role(.editor),
        CampaignMethods.getAd: .role(.viewer),
        CampaignMethods.listAds: .role(.viewer),
        CampaignMethods.updateAd: .role(.editor),
    ])

    /// StatsService.
    public static let stats = AccessPolicy([
        StatsMethods.ingestInsights: .role(.editor),
        // Revenue events come from OrderService's outbox relay only, proven by its certificate.
        StatsMethods.recordOrderEvent: .services(["orders"]),
        StatsMethods.getCampaignStats: .role(.viewer),
    ])

    /// OrderService.
    public static let orders = AccessPolicy([
        OrderMethods.createOrder: .role(.editor),
        OrderMethods.getOrder: .role(.viewer),
        OrderMethods.listOrders: .role(.viewer),
        OrderMethods.markPaid: .role(.editor),
        // A refund moves money back out: admins only.
        OrderMethods.refundOrder: .role(.admin),
        // Webhooks are authenticated by the provider's signature, checked by OrderService; only
        // the edge relays them.
        OrderMethods.handleWebhook: .services(["edge"]),
    ])
}
