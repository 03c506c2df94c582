using System.Text.Json;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Identity;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Gateway.Usage;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>
/// Examples of the main objects for the OpenAPI document, serialized exactly as the API writes them (so a lint
/// checks them against their schemas). A record may instead carry its own <c>public static T Example</c>; envelopes
/// (<see cref="DataEnvelope{T}"/>, <see cref="ListEnvelope{T}"/>) get theirs from their item's.
/// </summary>
public static class ApiExamples
{
    private static readonly DateTimeOffset Created = new(2025, 1, 15, 9, 30, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Updated = new(2025, 1, 16, 14, 5, 12, TimeSpan.Zero);

    private static readonly ProfileResponse Profile = new("Ann", "Lee", "https://example.com/ann.png");

    private static readonly UserResponse User = new("usr_2Vd9kQwB7mNc4XyZ1aT8pL", "ann@example.com", "ann", Profile, "user", "free", true, false, Created, Updated);

    private static readonly ApiKeyResponse ApiKey = new("key_5Hq2WcLm9RtX3vBn7ZpK1d", "CI deploys", "usr_2Vd9kQwB7mNc4XyZ1aT8pL",
        "sk_key_5Hq2WcLm9RtX3vBn7ZpK1d", "Xy7Q", "sk_key_5Hq2WcLm9RtX3vBn7ZpK1d…Xy7Q", "free", ["read", "write"], "active", null, Created, null, null,
        "usr_2Vd9kQwB7mNc4XyZ1aT8pL", null);

    private static readonly ResourceResponse Resource = new("res_7Tn3QpVx8cKd2LmB5wRz9s", "Quarterly report", "Numbers for Q4", "document",
        "active", new RawJsonObject("""{"owner":"finance","pages":12}"""), Created, Updated);

    private static readonly EventResponse Event = new("evt_1Qw3Er5Ty7Ui9Op1As3Df5", "resource.created", Created,
        new RawJsonObject(JsonSerializer.Serialize(Resource, ApiJson.Options)));

    private static readonly IndexedFieldResponse IndexedField = new("pages", "number", "ready");

    private static readonly ResourceTypeResponse ResourceType = new("document",
        new RawJsonObject("""{"type":"object","properties":{"owner":{"type":"string"},"pages":{"type":"integer","minimum":1}},"required":["owner"]}"""),
        16384, false, [IndexedField, new IndexedFieldResponse("owner", "string", "building")], true, Created, Updated);

    private static readonly JsonElement TypeSchema = JsonDocument.Parse(
        """{"type":"object","properties":{"owner":{"type":"string"},"pages":{"type":"integer","minimum":1}},"required":["owner"]}""").RootElement;

    private static readonly UsageReport Usage = new("usr_2Vd9kQwB7mNc4XyZ1aT8pL", "free", new RateLimitUsage(60, 57, 1767225600, 60),
        new UsageFigure(4, 1000), new UsageFigure(1, 10), new UsageFigure(1, 5), new UsageFigure(1, 3));

    private static readonly Dictionary<Type, object> Examples = new()
    {
        [typeof(UserResponse)] = User,
        [typeof(ProfileResponse)] = Profile,
        [typeof(RegisterRequest)] = new RegisterRequest("ann@example.com", "ann", "correct-horse-battery", new ProfileResponse("Ann", "Lee", null)),
        [typeof(LoginRequest)] = new LoginRequest("ann@example.com", "correct-horse-battery"),
        [typeof(RefreshRequest)] = new RefreshRequest("rt_ses_8Jk2LmN4pQ6rS8tU0vW2xY_q9w8e7r6t5y4u3i2o1p0aSdFgHjKl"),
        [typeof(TokenResponse)] = new TokenResponse("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfMlZkOWtRd0I3bU5jNFh5WjFhVDhwTCJ9.c2lnbmF0dXJl",
            "rt_ses_8Jk2LmN4pQ6rS8tU0vW2xY_q9w8e7r6t5y4u3i2o1p0aSdFgHjKl", "Bearer", 3600),
        [typeof(RegisterResponse)] = new RegisterResponse("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfMlZkOWtRd0I3bU5jNFh5WjFhVDhwTCJ9.c2lnbmF0dXJl",
            "rt_ses_8Jk2LmN4pQ6rS8tU0vW2xY_q9w8e7r6t5y4u3i2o1p0aSdFgHjKl", "Bearer", 3600, User),
        [typeof(UpdateMeRequest)] = new UpdateMeRequest("ann.lee", new ProfileResponse("Ann", null, null)),
        [typeof(ApiKeyResponse)] = ApiKey,
        [typeof(ApiKeySecretResponse)] = new ApiKeySecretResponse(ApiKey.Id, ApiKey.Name, ApiKey.OwnerId, ApiKey.Prefix, ApiKey.LastFour,
            ApiKey.Redacted, ApiKey.Plan, ApiKey.Scopes, ApiKey.Status, ApiKey.ExpiresAt, ApiKey.CreatedAt, null, null, ApiKey.CreatedBy, null,
            "sk_key_5Hq2WcLm9RtX3vBn7ZpK1d_4fGh7JkL9mN2pQ5rS8tV1wXy7Q", "sk_key_5Hq2WcLm9RtX3vBn7ZpK1d_4fGh7JkL9mN2pQ5rS8tV1wXy7Q"),
        [typeof(CreateApiKeyRequest)] = new CreateApiKeyRequest("CI deploys", ["read"], new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), null),
        [typeof(ResourceResponse)] = Resource,
        [typeof(ResourceListEnvelope)] = new ResourceListEnvelope([Resource], new ResourcePageMeta(null, 20, 1, 1, null)),
        [typeof(CreateResourceRequest)] = new CreateResourceRequest("Quarterly report", "Numbers for Q4", "document", "active",
            JsonDocument.Parse("""{"owner":"finance","pages":12}""").RootElement),
        [typeof(UpdateResourceRequest)] = new UpdateResourceRequest(null, null, null, "archived", JsonDocument.Parse("""{"pages":14}""").RootElement),
        [typeof(PageMeta)] = PageMeta.Of(1, 20, 1),
        [typeof(ResourcePageMeta)] = new ResourcePageMeta(null, 20, 1, 1, "eyJzIjoiLWNyZWF0ZWRfYXQifQ"),
        [typeof(OrganizationResponse)] = new OrganizationResponse("org_3Bc8DfGh1JkL4mNp7QrS2t", "Acme", "acme", "pro", 4, "owner", Created, Updated),
        [typeof(CreateOrganizationRequest)] = new CreateOrganizationRequest("Acme", "acme"),
        [typeof(UpdateOrganizationRequest)] = new UpdateOrganizationRequest("Acme Inc.", null, null),
        [typeof(MemberResponse)] = new MemberResponse("usr_2Vd9kQwB7mNc4XyZ1aT8pL", "admin", Created, "ann@example.com", "ann", Profile),
        [typeof(AddMemberRequest)] = new AddMemberRequest("usr_2Vd9kQwB7mNc4XyZ1aT8pL", "member"),
        [typeof(UpdateMemberRequest)] = new UpdateMemberRequest("admin"),
        [typeof(WebhookResponse)] = new WebhookResponse("wh_9Lk2MnB4vC6xZ8aS1dF3gH", "https://hooks.example.com/api-platform", ["resource.*"],
            "Sync to the warehouse", true, null, "whsec_Zm9v", Created, Updated),
        [typeof(WebhookSecretResponse)] = new WebhookSecretResponse("wh_9Lk2MnB4vC6xZ8aS1dF3gH", "https://hooks.example.com/api-platform",
            ["resource.*"], "Sync to the warehouse", true, null, "whsec_Zm9v", Created, Updated, "whsec_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0"),
        [typeof(CreateWebhookRequest)] = new CreateWebhookRequest("https://hooks.example.com/api-platform", ["resource.created", "resource.deleted"],
            null, "Sync to the warehouse", true),
        [typeof(UpdateWebhookRequest)] = new UpdateWebhookRequest(null, ["resource.*"], null, false),
        [typeof(DeliveryResponse)] = new DeliveryResponse("whd_4Rt6Yu8Io0Pa2Sd4Fg6Hj8", "wh_9Lk2MnB4vC6xZ8aS1dF3gH", "evt_1Qw3Er5Ty7Ui9Op1As3Df5",
            "resource.created", "pending", 1, 503, "HTTP 503: upstream unavailable", Updated.AddMinutes(5), Created, Updated),
        [typeof(PendingVerificationResponse)] = new PendingVerificationResponse(User with { EmailVerified = false }, true),
        [typeof(EmailRequest)] = new EmailRequest("ann@example.com"),
        [typeof(TokenRequest)] = new TokenRequest("ev_3Hk9LmP2qR5sT8uV1wX4yZ_7aB0cD3eF6gH9jK2mN5pQr"),
        [typeof(PasswordResetConfirmRequest)] = new PasswordResetConfirmRequest("pr_6Jk2LmN4pQ6rS8tU0vW2xY_4zA6bC8dE0fG2hJ4kL6mN", "a-new-long-password"),
        [typeof(ChangePasswordRequest)] = new ChangePasswordRequest("correct-horse-battery", "a-new-long-password"),
        [typeof(SessionResponse)] = new SessionResponse("ses_8Jk2LmN4pQ6rS8tU0vW2xY", Created, Updated, Created.AddDays(90),
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", true),
        [typeof(UpdateUserRequest)] = new UpdateUserRequest(null, "pro", false),
        [typeof(ReplaceResourceRequest)] = new ReplaceResourceRequest("Quarterly report", "Numbers for Q4, revised", "document", "active",
            JsonDocument.Parse("""{"owner":"finance","pages":14}""").RootElement),
        [typeof(InvitationResponse)] = new InvitationResponse("inv_6Yh3Jk8Lm1Np4Qr7St0Uv2", "org_3Bc8DfGh1JkL4mNp7QrS2t", "bob@example.com", "member",
            "usr_2Vd9kQwB7mNc4XyZ1aT8pL", "pending", Created, Created.AddDays(7), null),
        [typeof(CreateInvitationRequest)] = new CreateInvitationRequest("bob@example.com", "member"),
        [typeof(AcceptInvitationRequest)] = new AcceptInvitationRequest("ivt_3Bc8DfGh1JkL4mNp7QrS2t_6Yh3Jk8Lm1Np4Qr7St0Uv2_9Gh2Jk5Lm8Np1Qr4St7Uv0Wx"),
        [typeof(EventResponse)] = Event,
        [typeof(EventPageMeta)] = new EventPageMeta(null, 20, 1, 1, "eyJDIjoxNzM2OTMzNDAwMDAwMDAwLCJTIjo0Mn0"),
        [typeof(EventListEnvelope)] = new EventListEnvelope([Event], new EventPageMeta(1, 20, 1, 1, null)),
        [typeof(IndexedFieldResponse)] = IndexedField,
        [typeof(ResourceTypeResponse)] = ResourceType,
        [typeof(IndexSpecRequest)] = new IndexSpecRequest("pages", "number"),
        [typeof(CreateResourceTypeRequest)] = new CreateResourceTypeRequest("document", TypeSchema, 16384,
            [new IndexSpecRequest("pages", "number"), new IndexSpecRequest("owner", "string")], true),
        [typeof(UpdateResourceTypeRequest)] = new UpdateResourceTypeRequest(null, null, [new IndexSpecRequest("pages", "number")], false),
        [typeof(UsageReport)] = Usage,
        [typeof(UsageFigure)] = Usage.Resources,
        [typeof(RateLimitUsage)] = Usage.RateLimit!,
        [typeof(Problem)] = Problem.Create(StatusCodes.Status400BadRequest, ProblemCodes.InvalidRequest, "'name' is required",
            "req_8Hj2Kl4Mn6Pq8Rs0Tu2Vw4", new Dictionary<string, string[]> { ["name"] = ["is required"] }),
    };

    /// <summary>The example of <paramref name="type"/>, or null.</summary>
    public static object? For(Type type) => Examples.GetValueOrDefault(type);
}
