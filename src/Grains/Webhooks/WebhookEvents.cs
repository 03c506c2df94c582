using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ApiPlatform.Grains.Organizations;
using ApiPlatform.Grains.Resources;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Webhooks;

/// <summary>An event to publish: written to <c>events_outbox</c> in the transaction of the change it describes.</summary>
public sealed record OutboxEvent(string Id, string OwnerId, string Type, string Payload, DateTimeOffset CreatedAt);

/// <summary>
/// Builds event bodies — <c>{"id","type","created_at","data"}</c>, snake_case like the API, <c>data</c> the object as
/// the API shows it — and writes them to the outbox.
/// </summary>
public static class WebhookEvents
{
    public static OutboxEvent ForResource(string type, ResourceView r, DateTimeOffset now) =>
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

    /// <summary>An organization's event, published to the organization's own webhooks.</summary>
    public static OutboxEvent ForOrganization(string type, OrganizationView o, DateTimeOffset now) =>
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

    /// <summary>A membership's event, published to the organization's webhooks.</summary>
    public static OutboxEvent ForMembership(string type, string orgId, MemberView m, DateTimeOffset now) =>
        Create(orgId, type, now, w =>
        {
            w.WriteString("organization_id", orgId);
            w.WriteString("user_id", m.UserId);
            w.WriteString("role", m.Role);
            w.WriteString("joined_at", Timestamp(m.JoinedAt));
        });

    public static OutboxEvent ForTest(string ownerId, string webhookId, DateTimeOffset now) =>
        Create(ownerId, WebhookEventTypes.Test, now, w => w.WriteString("webhook_id", webhookId));

    public static OutboxEvent Create(string ownerId, string type, DateTimeOffset now, Action<Utf8JsonWriter> writeData)
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

        return new OutboxEvent(id, ownerId, type, Encoding.UTF8.GetString(buffer.ToArray()), now);
    }

    /// <summary>
    /// SQL condition true when the owner <paramref name="ownerId"/> has an enabled webhook subscribed to the event type
    /// whose LIKE pattern (<see cref="SubscriptionPattern"/>) is <paramref name="pattern"/>; both are SQL expressions,
    /// by default the parameters <c>@owner_id</c> and <c>@evt_pattern</c>. An event nobody subscribes to is not written at all:
    /// most owners have no webhooks, and their changes then cost no outbox row and no relay work. A webhook created
    /// after the change committed would not have received the event anyway (the relay only fans an event out to
    /// webhooks that existed when it happened).
    /// </summary>
    public static string SubscribedCondition(string ownerId = "@owner_id", string pattern = "@evt_pattern") =>
        $"EXISTS (SELECT 1 FROM webhooks w WHERE w.owner_id = {ownerId} AND w.enabled AND w.events LIKE {pattern})";

    /// <summary>The LIKE pattern matching a webhook's stored <c>events</c> (a JSON array) that lists <paramref name="type"/>.</summary>
    public static string SubscriptionPattern(string type) => "%" + JsonSerializer.Serialize(type) + "%";

    /// <summary>
    /// Writes the events in the caller's transaction (those nobody subscribes to excepted), commits it, and then wakes
    /// this silo's relay if an event was written. Every change that publishes events ends here, so the relay is woken
    /// exactly when there is something for it.
    /// </summary>
    public static async Task CommitAsync(DbConnection connection, DbTransaction transaction, EventSignals? signals,
        params IEnumerable<OutboxEvent> events)
    {
        var written = await WriteAsync(connection, transaction, events);
        await transaction.CommitAsync();
        if (written > 0)
        {
            signals?.Outbox.Set();
        }
    }

    private static async Task<int> WriteAsync(DbConnection connection, DbTransaction? transaction, params IEnumerable<OutboxEvent> events)
    {
        var written = 0;
        foreach (var e in events)
        {
            await using var command = connection.Command(
                "INSERT INTO events_outbox (id, owner_id, type, payload, created_at) "
                + $"SELECT @id, @owner_id, @type, @payload, @created_at WHERE {SubscribedCondition()}",
                transaction);
            var affected = await command.With("id", e.Id).With("owner_id", e.OwnerId).With("type", e.Type).With("payload", e.Payload)
                .With("created_at", ResourceStore.Micros(e.CreatedAt)).With("evt_pattern", SubscriptionPattern(e.Type)).ExecuteNonQueryAsync();
            written += affected;
        }

        return written;
    }

    /// <summary><c>2025-01-15T10:00:00Z</c>, as the API writes timestamps.</summary>
    public static string Timestamp(DateTimeOffset value) =>
        value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
