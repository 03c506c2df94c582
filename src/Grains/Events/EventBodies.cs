using System.Globalization;
using System.Text;
using System.Text.Json;
using ApiPlatform.Grains.Organizations;
using ApiPlatform.Grains.Resources;

namespace ApiPlatform.Grains.Events;

/// <summary>An event about to be written with the change it describes; the log gives it its place (seq) at commit.</summary>
public sealed record NewEvent(string Id, string OwnerId, string Type, string Payload, DateTimeOffset CreatedAt)
{
    /// <summary>The event as committed at <paramref name="seq"/> of its owner's log.</summary>
    public EventEnvelope At(long seq, bool deliver) => new(Id, OwnerId, seq, Type, Payload, CreatedAt, deliver);
}

/// <summary>
/// Builds event bodies — <c>{"id","type","created_at","data"}</c>, snake_case like the API, <c>data</c> the object as
/// the API shows it. The same body is a webhook's request body, an SSE message's data and an event-log entry.
/// </summary>
public static class EventBodies
{
    public static NewEvent ForResource(string type, ResourceView r, DateTimeOffset now) =>
        Create(r.OwnerId, type, now, w =>
        {
            w.WriteString("id", r.Id);
            w.WriteString("name", r.Name);
            w.WriteString("description", r.Description);
            w.WriteString("type", r.Type);
            w.WriteString("status", r.Status);
            w.WritePropertyName("metadata");
            w.WriteRawValue(r.Metadata);
            w.WriteString("created_at", Timestamp(r.CreatedAt));
            w.WriteString("updated_at", Timestamp(r.UpdatedAt));
        });

    /// <summary>An organization's event, in the organization's own log.</summary>
    public static NewEvent ForOrganization(string type, OrganizationView o, DateTimeOffset now) =>
        Create(o.Id, type, now, w =>
        {
            w.WriteString("id", o.Id);
            w.WriteString("name", o.Name);
            w.WriteString("slug", o.Slug);
            w.WriteString("plan", o.Plan);
            w.WriteNumber("member_count", o.MemberCount);
            w.WriteString("created_at", Timestamp(o.CreatedAt));
            w.WriteString("updated_at", Timestamp(o.UpdatedAt));
        });

    /// <summary>A membership's event, in the organization's log.</summary>
    public static NewEvent ForMembership(string type, string orgId, MemberView m, DateTimeOffset now) =>
        Create(orgId, type, now, w =>
        {
            w.WriteString("organization_id", orgId);
            w.WriteString("user_id", m.UserId);
            w.WriteString("role", m.Role);
            w.WriteString("joined_at", Timestamp(m.JoinedAt));
        });

    /// <summary>A webhook's test event: sent to that one endpoint, never written to the log.</summary>
    public static NewEvent ForTest(string ownerId, string webhookId, DateTimeOffset now) =>
        Create(ownerId, EventTypes.Test, now, w => w.WriteString("webhook_id", webhookId));

    public static NewEvent Create(string ownerId, string type, DateTimeOffset now, Action<Utf8JsonWriter> writeData)
    {
        var id = Ids.New(Ids.Event);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("type", type);
            w.WriteString("created_at", Timestamp(now));
            w.WriteStartObject("data");
            writeData(w);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return new NewEvent(id, ownerId, type, Encoding.UTF8.GetString(buffer.ToArray()), now);
    }

    /// <summary><c>2025-01-15T10:00:00Z</c>, as the API writes timestamps.</summary>
    public static string Timestamp(DateTimeOffset value) =>
        value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
