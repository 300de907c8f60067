/// Fully qualified RPC method names, shared by servers, clients and the edge.
public enum AuthMethods {
    public static let register = "pixecom.auth.v1.AuthService/Register"
    public static let login = "pixecom.auth.v1.AuthService/Login"
    public static let refresh = "pixecom.auth.v1.AuthService/Refresh"
    public static let logout = "pixecom.auth.v1.AuthService/Logout"
    public static let getPublicKeys = "pixecom.auth.v1.AuthService/GetPublicKeys"
    public static let inviteMember = "pixecom.auth.v1.AuthService/InviteMember"
    public static let acceptInvitation = "pixecom.auth.v1.AuthService/AcceptInvitation"
    public static let listMembers = "pixecom.auth.v1.AuthService/ListMembers"
    public static let changeMemberRole = "pixecom.auth.v1.AuthService/ChangeMemberRole"
    public static let removeMember = "pixecom.auth.v1.AuthService/RemoveMember"
    public static let changePassword = "pixecom.auth.v1.AuthService/ChangePassword"
    public static let getCaller = "pixecom.auth.v1.AuthService/GetCaller"
    public static let listSessions = "pixecom.auth.v1.AuthService/ListSessions"
    public static let revokeSession = "pixecom.auth.v1.AuthService/RevokeSession"
    public static let listAuditEvents = "pixecom.auth.v1.AuthService/ListAuditEvents"
    public static let createApiKey = "pixecom.auth.v1.AuthService/CreateApiKey"
    public static let listApiKeys = "pixecom.auth.v1.AuthService/ListApiKeys"
    public static let revokeApiKey = "pixecom.auth.v1.AuthService/RevokeApiKey"
    public static let exchangeApiKey = "pixecom.auth.v1.AuthService/ExchangeApiKey"
}

public enum CampaignMethods {
    static let prefix = "pixecom.campaign.v1.CampaignService/"
    public static let createAdAccount = prefix + "CreateAdAccount"
    public static let getAdAccount = prefix + "GetAdAccount"
    public static let listAdAccounts = prefix + "ListAdAccounts"
    public static let createCampaign = prefix + "CreateCampaign"
    public static let getCampaign = prefix + "GetCampaign"
    public static let listCampaigns = prefix + "ListCampaigns"
    public static let updateCampaign = prefix + "UpdateCampaign"
    public static let createAdSet = prefix + "CreateAdSet"
    public static let getAdSet = prefix + "GetAdSet"
    public static let listAdSets = prefix + "ListAdSets"
    public static let updateAdSet = prefix + "UpdateAdSet"
    public static let createAd = prefix + "CreateAd"
    public static let getAd = prefix + "GetAd"
    public static let listAds = prefix + "ListAds"
    public static let updateAd = prefix + "UpdateAd"
}

public enum StatsMethods {
    static let prefix = "pixecom.stats.v1.StatsService/"
    public static let ingestInsights = prefix + "IngestInsights"
    public static let recordOrderEvent = prefix + "RecordOrderEvent"
    public static let getCampaignStats = prefix + "GetCampaignStats"
}

public enum OrderMethods {
    static let prefix = "pixecom.orders.v1.OrderService/"
    public static let createOrder = prefix + "CreateOrder"
    public static let getOrder = prefix + "GetOrder"
    public static let listOrders = prefix + "ListOrders"
    public static let markPaid = prefix + "MarkPaid"
    public static let refundOrder = prefix + "RefundOrder"
    public static let handleWebhook = prefix + "HandleWebhook"
}

/// Methods that can run twice with the same effect as once, so a client may retry them after a
/// failure that may have reached the server: reads, status sets, upserts, and events deduplicated
/// by id. Creating orders is idempotent only with an idempotency key; `RPCClient` callers pass
/// `idempotent: true` for such calls.
public enum IdempotentMethods {
    public static let all: Set<String> = [
        AuthMethods.getPublicKeys, AuthMethods.listMembers, AuthMethods.getCaller, AuthMethods.listSessions, AuthMethods.listAuditEvents,
        CampaignMethods.getAdAccount, CampaignMethods.listAdAccounts,
        CampaignMethods.getCampaign, CampaignMethods.listCampaigns, CampaignMethods.updateCampaign,
        CampaignMethods.getAdSet, CampaignMethods.listAdSets, CampaignMethods.updateAdSet,
        CampaignMethods.getAd, CampaignMethods.listAds, CampaignMethods.updateAd,
        StatsMethods.ingestInsights, StatsMethods.recordOrderEvent, StatsMethods.getCampaignStats,
        OrderMethods.getOrder, OrderMethods.listOrders,
    ]
}

/// Methods that apply a call carrying an `idempotency-key` at most once per key: with a non-empty
/// key they may be retried like idempotent methods.
public enum KeyedIdempotentMethods {
    public static let all: Set<String> = [OrderMethods.createOrder]
}
