namespace ApiPlatform.Grains.Webhooks;

/// <summary>The event types a webhook can subscribe to, and the test event.</summary>
public static class WebhookEventTypes
{
    public const string ResourceCreated = Events.EventTypes.ResourceCreated;
    public const string ResourceUpdated = Events.EventTypes.ResourceUpdated;
    public const string ResourceDeleted = Events.EventTypes.ResourceDeleted;
    public const string OrganizationCreated = Events.EventTypes.OrganizationCreated;
    public const string OrganizationUpdated = Events.EventTypes.OrganizationUpdated;
    public const string OrganizationDeleted = Events.EventTypes.OrganizationDeleted;
    public const string MembershipCreated = Events.EventTypes.MembershipCreated;
    public const string MembershipUpdated = Events.EventTypes.MembershipUpdated;
    public const string MembershipDeleted = Events.EventTypes.MembershipDeleted;
    public const string Test = Events.EventTypes.Test;

    /// <summary>What a webhook may subscribe to (<see cref="Test"/> is sent on request only).</summary>
    public static IReadOnlyList<string> All => Events.EventTypes.All;

    public static bool IsValid(string type) => Events.EventTypes.IsValid(type);
}

/// <summary>Delivery states.</summary>
public static class DeliveryStatus
{
    public const string Pending = "pending";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
}

/// <summary>A webhook as shown to its owner: never its secret, only the secret's first characters.</summary>
[GenerateSerializer, Immutable, Alias("webhook-view.v1")]
public sealed record WebhookView(
    [property: Id(0)] string Id,
    [property: Id(1)] string OwnerId,
    [property: Id(2)] string Url,
    [property: Id(3)] IReadOnlyList<string> Events,
    [property: Id(4)] string? Description,
    [property: Id(5)] bool Enabled,
    [property: Id(6)] string? DisabledReason,
    [property: Id(7)] string SecretPrefix,
    [property: Id(8)] DateTimeOffset CreatedAt,
    [property: Id(9)] DateTimeOffset UpdatedAt);

/// <summary>A new webhook, validated by the gateway (the URL's addresses are checked by the grain).</summary>
[GenerateSerializer, Immutable, Alias("webhook-draft.v1")]
public sealed record WebhookDraft(
    [property: Id(0)] string OwnerId,
    [property: Id(1)] string Url,
    [property: Id(2)] IReadOnlyList<string> Events,
    [property: Id(3)] string? Description,
    [property: Id(4)] bool Enabled,
    [property: Id(5)] string? Secret);

/// <summary>A partial update: null fields are left alone; <see cref="ClearDescription"/> sets the description to null.</summary>
[GenerateSerializer, Immutable, Alias("webhook-patch.v1")]
public sealed record WebhookPatch(
    [property: Id(0)] string? Url,
    [property: Id(1)] IReadOnlyList<string>? Events,
    [property: Id(2)] string? Description,
    [property: Id(3)] bool ClearDescription,
    [property: Id(4)] bool? Enabled);

/// <summary>What a webhook operation came to.</summary>
[GenerateSerializer]
public enum WebhookStatus
{
    Done,
    NotFound,
    /// <summary>The URL is refused (private network, unresolvable); <see cref="WebhookOutcome.Error"/> says why.</summary>
    InvalidUrl,
    PlanLimitReached,
    /// <summary>The endpoint's budget of test calls and redeliveries is spent; <see cref="WebhookOutcome.RetryAfter"/> says for how long.</summary>
    RateLimited,
}

/// <summary>Outcome of a webhook operation, with the webhook, the secret (creation and rotation only) or the delivery.</summary>
[GenerateSerializer, Immutable, Alias("webhook-outcome.v1")]
public sealed record WebhookOutcome(
    [property: Id(0)] WebhookStatus Status,
    [property: Id(1)] WebhookView? Webhook = null,
    [property: Id(2)] string? Secret = null,
    [property: Id(3)] DeliveryView? Delivery = null,
    [property: Id(4)] string? Error = null,
    [property: Id(5)] TimeSpan? RetryAfter = null);

/// <summary>One delivery of one event to one webhook, as the delivery log shows it.</summary>
[GenerateSerializer, Immutable, Alias("delivery-view.v1")]
public sealed record DeliveryView(
    [property: Id(0)] string Id,
    [property: Id(1)] string WebhookId,
    [property: Id(2)] string EventId,
    [property: Id(3)] string EventType,
    [property: Id(4)] string Status,
    [property: Id(5)] int Attempts,
    [property: Id(6)] int? LastStatusCode,
    [property: Id(7)] string? LastError,
    [property: Id(8)] DateTimeOffset? NextAttemptAt,
    [property: Id(9)] DateTimeOffset CreatedAt,
    [property: Id(10)] DateTimeOffset UpdatedAt);

/// <summary>A page of webhooks with the exact total.</summary>
[GenerateSerializer, Immutable, Alias("webhook-list.v1")]
public sealed record WebhookList(
    [property: Id(0)] IReadOnlyList<WebhookView> Items,
    [property: Id(1)] long Total);

/// <summary>A page of deliveries with the exact total.</summary>
[GenerateSerializer, Immutable, Alias("delivery-list.v1")]
public sealed record DeliveryList(
    [property: Id(0)] IReadOnlyList<DeliveryView> Items,
    [property: Id(1)] long Total);

/// <summary>
/// A stored, pending delivery as the endpoint's schedule holds it: what to send, how often it was tried, and when it
/// is due (product time). <see cref="EventSeq"/> is the event's place in the owner's log (null for test events).
/// </summary>
[GenerateSerializer, Immutable, Alias("queued-delivery.v1")]
public sealed record QueuedDelivery(
    [property: Id(0)] string Id,
    [property: Id(1)] string EventId,
    [property: Id(2)] string EventType,
    [property: Id(3)] string Payload,
    [property: Id(4)] long? EventSeq,
    [property: Id(5)] int Attempts,
    [property: Id(6)] DateTimeOffset DueAt,
    [property: Id(7)] DateTimeOffset CreatedAt);

/// <summary>How one attempt ended: the HTTP status (null when none came) and, for anything but 2xx, a short error.</summary>
[GenerateSerializer, Immutable, Alias("attempt-result.v1")]
public sealed record AttemptOutcome(
    [property: Id(0)] string DeliveryId,
    [property: Id(1)] long Token,
    [property: Id(2)] int? StatusCode,
    [property: Id(3)] string? Error,
    [property: Id(4)] bool Recorded);

/// <summary>The circuit breaker's states.</summary>
public static class CircuitStates
{
    /// <summary>Sending normally.</summary>
    public const string Closed = "closed";

    /// <summary>Too many consecutive failures: nothing is sent until the cool-down ends.</summary>
    public const string Open = "open";

    /// <summary>The cool-down ended: one delivery is tried; its success closes the circuit, its failure opens it again.</summary>
    public const string HalfOpen = "half_open";
}

/// <summary>
/// An endpoint's delivery schedule as its grain holds it now; <see cref="TimesOpened"/> counts how often its circuit
/// opened since the activation started (each opening allows one probe).
/// </summary>
[GenerateSerializer, Immutable, Alias("delivery-state.v1")]
public sealed record DeliveryState(
    [property: Id(0)] string Circuit,
    [property: Id(1)] int ConsecutiveFailures,
    [property: Id(2)] int Queued,
    [property: Id(3)] int InFlight,
    [property: Id(4)] bool Enabled,
    [property: Id(5)] int TimesOpened = 0);
