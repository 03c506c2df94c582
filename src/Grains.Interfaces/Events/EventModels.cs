namespace ApiPlatform.Grains.Events;

/// <summary>The event types the platform produces (<see cref="Test"/> is a webhook's test call, never in the log).</summary>
public static class EventTypes
{
    public const string ResourceCreated = "resource.created";
    public const string ResourceUpdated = "resource.updated";
    public const string ResourceDeleted = "resource.deleted";
    public const string OrganizationCreated = "organization.created";
    public const string OrganizationUpdated = "organization.updated";
    public const string OrganizationDeleted = "organization.deleted";
    public const string MembershipCreated = "membership.created";
    public const string MembershipUpdated = "membership.updated";
    public const string MembershipDeleted = "membership.deleted";
    public const string Test = "webhook.test";

    /// <summary>Every type an owner's event log can hold, in the order the API lists them.</summary>
    public static readonly IReadOnlyList<string> All =
    [
        ResourceCreated, ResourceUpdated, ResourceDeleted,
        OrganizationCreated, OrganizationUpdated, OrganizationDeleted,
        MembershipCreated, MembershipUpdated, MembershipDeleted,
    ];

    public static bool IsValid(string type) => All.Contains(type);

    /// <summary>The family of a type (<c>resource</c> for <c>resource.created</c>): each family travels on its own stream namespace.</summary>
    public static string FamilyOf(string type) => type[..Math.Max(0, type.IndexOf('.'))];
}

/// <summary>The Orleans stream namespaces of the event families; a stream's key is the owner id.</summary>
public static class EventStreams
{
    /// <summary>The stream provider's name.</summary>
    public const string Provider = "events";

    public const string Resources = "events.resource";
    public const string Organizations = "events.organization";
    public const string Memberships = "events.membership";

    public static readonly IReadOnlyList<string> Namespaces = [Resources, Organizations, Memberships];

    /// <summary>The namespace an event of <paramref name="type"/> travels on.</summary>
    public static string NamespaceOf(string type) => "events." + EventTypes.FamilyOf(type);
}

/// <summary>
/// One committed event as it travels: its place in the owner's log (<see cref="Seq"/>: 1, 2, 3, … in commit order),
/// the body a webhook receives (<see cref="Payload"/>, JSON), and whether an enabled webhook subscribed to it when it
/// committed (<see cref="Deliver"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("event-envelope.v1")]
public sealed record EventEnvelope(
    [property: Id(0)] string Id,
    [property: Id(1)] string OwnerId,
    [property: Id(2)] long Seq,
    [property: Id(3)] string Type,
    [property: Id(4)] string Payload,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] bool Deliver);

/// <summary>
/// Events of one owner, in log order: what a stream message and a push to live listeners carry.
/// <see cref="Replay"/> marks a republication by the recovery sweep: the consumer then catches up from the log.
/// </summary>
[GenerateSerializer, Immutable, Alias("event-batch.v1")]
public sealed record EventBatch(
    [property: Id(0)] string OwnerId,
    [property: Id(1)] IReadOnlyList<EventEnvelope> Events,
    [property: Id(2)] bool Replay = false);

/// <summary>A query of <c>GET /v1/events</c>: newest first in commit order, optionally one type and a <c>created_at</c> range.</summary>
[GenerateSerializer, Immutable, Alias("event-query.v1")]
public sealed record EventQuery(
    [property: Id(0)] string OwnerId,
    [property: Id(1)] string? Type,
    [property: Id(2)] DateTimeOffset? CreatedAfter,
    [property: Id(3)] DateTimeOffset? CreatedBefore,
    [property: Id(4)] int Offset,
    [property: Id(5)] int Limit,
    [property: Id(6)] EventCursor? After);

/// <summary>A keyset position in the newest-first (commit) order: the last event of the previous page.</summary>
[GenerateSerializer, Immutable, Alias("event-cursor.v1")]
// Id 0 held the created_at of the former timestamp order: a silo of that version still sends it, and it is skipped.
public sealed record EventCursor(
    [property: Id(1)] long Seq);

/// <summary>A page of events with the exact total and the keyset of the next page (null on the last one).</summary>
[GenerateSerializer, Immutable, Alias("event-page.v1")]
public sealed record EventPage(
    [property: Id(0)] IReadOnlyList<EventEnvelope> Items,
    [property: Id(1)] long Total,
    [property: Id(2)] EventCursor? Next);
