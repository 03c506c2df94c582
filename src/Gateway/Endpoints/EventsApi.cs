using System.Globalization;
using System.Text.Json;
using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Events;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Gateway.Identity;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Grains;
using ApiPlatform.Grains.Events;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>An event on the wire: the same body a webhook receives (<c>id</c> is its <c>webhook-id</c>).</summary>
public sealed record EventResponse(string Id, string Type, DateTimeOffset CreatedAt, RawJsonObject Data)
{
    public static EventResponse From(EventEnvelope e)
    {
        using var body = JsonDocument.Parse(e.Payload);
        return new EventResponse(e.Id, e.Type, e.CreatedAt, new RawJsonObject(body.RootElement.GetProperty("data").GetRawText()));
    }
}

/// <summary>Paging facts of the event list: the contract's four, plus the keyset cursor of the next page.</summary>
public sealed record EventPageMeta(int? Page, int PerPage, long Total, long TotalPages, string? NextCursor);

/// <summary>A page of events.</summary>
public sealed record EventListEnvelope(IReadOnlyList<EventResponse> Data, EventPageMeta Meta);

/// <summary>
/// <c>/v1/events</c>: the owner's event log (every event kept for <c>Events:Retention</c>, newest first) and its live
/// stream as Server-Sent Events.
/// </summary>
public static class EventsApi
{
    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/events").WithTags(ApiTags.Events).RequireCaller()
            .WithParameter("id", "The event's id (evt_…).");

        group.MapGet("/", ListAsync)
            .Describe("listEvents", "List events",
                "The acting owner's events (resource, organization and membership changes, kept for Events:Retention), newest "
                + "first in commit order (the order the stream and webhooks deliver), each exactly the body a webhook receives. "
                + "Offset paging (page, per_page) or keyset paging (cursor, from meta.next_cursor, bound to the same filter and "
                + "range; not with page); meta.total is exact. Another filter[…], a bad timestamp or a foreign cursor is 400 "
                + "naming the parameter. Needs the read scope; an organization's events with X-Organization-Id.")
            .Paged()
            .WithQueryParameter<string>("cursor", "The next_cursor of the previous page (not with page); repeat the same filter[type], created_after and created_before.")
            .WithQueryParameter<string>("filter[type]", $"Only events of this type: {string.Join(", ", EventTypes.All)}.")
            .WithQueryParameter<DateTimeOffset>("created_after", "Only events created after this instant (ISO 8601, exclusive).")
            .WithQueryParameter<DateTimeOffset>("created_before", "Only events created before this instant (ISO 8601, exclusive).")
            .Produces<EventListEnvelope>()
            .ProducesErrors(400, 401, 403);
        group.MapGet("/stream", StreamAsync)
            .Describe("streamEvents", "Follow events live (Server-Sent Events)",
                "Answers text/event-stream and stays open: it starts with 'retry: 2000' and ': connected', then sends every event "
                + "committed after that as one message (id: the event id, event: its type, data: the event as JSON, the body of "
                + "GET /v1/events/{id}'s data), with a ': heartbeat' comment after 15 s of silence. To resume without gap or "
                + "duplicate, send the last id received as the Last-Event-ID header (EventSource does it when it reconnects) or "
                + "as last_event_id; an id not in the owner's log (never was, or purged) is 400 naming Last-Event-ID: reconnect "
                + "without it and resynchronize from GET /v1/events. Open streams per credential are capped by plan (402 past "
                + "it). Counts once against the rate limit, at connect. Needs the read scope.")
            .WithQueryParameter<string>("types", $"Comma-separated event types to keep (default all): {string.Join(", ", EventTypes.All)}.")
            .WithQueryParameter<string>("last_event_id", "Resume after this event id (evt_…), for clients that cannot send the Last-Event-ID header.")
            // A string schema: the body is a stream of SSE messages, not JSON. The content type also lets this endpoint pass
            // Accept negotiation (AcceptNegotiationMiddleware reads it).
            .Produces<string>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesErrors(400, 401, 402, 403);
        group.MapGet("/{id}", GetAsync)
            .Describe("getEvent", "Get an event",
                "One event of the acting owner, as listed and as a webhook receives it. Another owner's event, or one purged after "
                + "Events:Retention, is 404.")
            .Produces<DataEnvelope<EventResponse>>()
            .ProducesErrors(401, 403, 404);
        return routes;
    }

    private static async Task<Ok<EventListEnvelope>> ListAsync(HttpContext context, GrainRefs grains)
    {
        var (query, paging, cursorMode) = EventListQuery.Parse(context.Request, context.GetCaller().OwnerId);
        var page = await grains.Get<IEventQueryWorker>(0).ListAsync(query);
        var next = page.Next is null ? null : EventListQuery.EncodeCursor(query, page.Next);
        var totalPages = page.Total == 0 ? 0 : (page.Total + paging.PerPage - 1) / paging.PerPage;
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(new EventListEnvelope(page.Items.Select(EventResponse.From).ToList(),
            new EventPageMeta(cursorMode ? null : paging.Page, paging.PerPage, page.Total, totalPages, next)));
    }

    private static async Task<Ok<DataEnvelope<EventResponse>>> GetAsync(string id, HttpContext context, GrainRefs grains)
    {
        var e = Ids.IsValid(id, Ids.Event) ? await grains.Get<IEventQueryWorker>(0).GetAsync(context.GetCaller().OwnerId, id) : null;
        return TypedResults.Ok(new DataEnvelope<EventResponse>(EventResponse.From(e ?? throw ApiException.NotFound("The event"))));
    }

    /// <summary>
    /// <c>text/event-stream</c>: every event of the owner from now on (or after <c>Last-Event-ID</c>), in log order,
    /// as <c>id</c>/<c>event</c>/<c>data</c>; a comment line after 15 s of silence. Charged once, at connect.
    /// </summary>
    private static async Task StreamAsync(HttpContext context, EventStreamHub hub, IOptions<PlanOptions> plans)
    {
        var caller = context.GetCaller();
        var request = context.Request;
        var types = ParseTypes(QueryParameters.Single(request, "types"));
        var lastEventId = LastEventId(request);
        var credential = caller.ApiKeyId is { } keyId ? "key:" + keyId : "user:" + caller.UserId;
        var max = plans.Value.LimitsOf(caller.Plan).MaxEventStreams;

        await using var subscription = await hub.OpenAsync(caller.OwnerId, credential, max, types, lastEventId, context.RequestAborted);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-store";
        // Proxies such as nginx would otherwise hold the stream back in their buffers.
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        try
        {
            await subscription.RunAsync(response, context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: the normal end of a stream.
        }
    }

    private static HashSet<string>? ParseTypes(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var types = text.Split(',', StringSplitOptions.TrimEntries);
        if (types.Length == 0 || types.Any(t => !EventTypes.IsValid(t)))
        {
            throw ApiException.Invalid("types", $"must be a comma-separated list of: {string.Join(", ", EventTypes.All)}");
        }

        return [.. types];
    }

    /// <summary>The <c>Last-Event-ID</c> header, or the <c>last_event_id</c> parameter (a browser's first EventSource request cannot set headers).</summary>
    private static string? LastEventId(HttpRequest request)
    {
        var header = request.Headers["Last-Event-ID"];
        if (header.Count > 1)
        {
            throw ApiException.Invalid("Last-Event-ID", "must be given once");
        }

        var value = header.Count == 1 ? header[0] : QueryParameters.Single(request, "last_event_id");
        if (value is null || value.Length == 0)
        {
            return null;
        }

        return Ids.IsValid(value, Ids.Event)
            ? value
            : throw ApiException.Invalid("Last-Event-ID", "must be an event id (evt_…) this stream sent");
    }
}

/// <summary>
/// The query of <c>GET /v1/events</c>: <c>page</c>/<c>per_page</c> or <c>cursor</c>, <c>filter[type]</c>,
/// <c>created_after</c>, <c>created_before</c> (ISO 8601, exclusive). A bad one is 400 naming it.
/// </summary>
public static class EventListQuery
{
    public static (EventQuery Query, Paging Paging, bool CursorMode) Parse(HttpRequest request, string ownerId)
    {
        foreach (var name in request.Query.Keys.Where(k => k.StartsWith("filter", StringComparison.Ordinal)))
        {
            if (name != "filter[type]")
            {
                throw ApiException.Invalid(name, "is not a supported filter; use filter[type]");
            }
        }

        var type = QueryParameters.Single(request, "filter[type]");
        if (type is not null && !EventTypes.IsValid(type))
        {
            throw ApiException.Invalid("filter[type]", $"must be one of: {string.Join(", ", EventTypes.All)}");
        }

        var after = Timestamp(request, "created_after");
        var before = Timestamp(request, "created_before");
        var paging = Paging.From(request);
        var cursor = QueryParameters.Single(request, "cursor");
        if (cursor is null)
        {
            return (new EventQuery(ownerId, type, after, before, paging.Offset, paging.PerPage, null), paging, false);
        }

        if (request.Query.ContainsKey("page"))
        {
            throw ApiException.Invalid("cursor", "cannot be combined with page");
        }

        var position = DecodeCursor(cursor, type, after, before);
        return (new EventQuery(ownerId, type, after, before, 0, paging.PerPage, position), paging, true);
    }

    /// <summary>An opaque cursor: the last event seen, bound to the filter and range it was made for.</summary>
    public static string EncodeCursor(EventQuery query, EventCursor next) =>
        WebEncoders.Base64UrlEncode(JsonSerializer.SerializeToUtf8Bytes(new CursorData(next.Seq, query.Type,
            query.CreatedAfter?.UtcTicks, query.CreatedBefore?.UtcTicks)));

    private static EventCursor DecodeCursor(string cursor, string? type, DateTimeOffset? after, DateTimeOffset? before)
    {
        CursorData? data;
        try
        {
            data = cursor.Length > 1024 ? null : JsonSerializer.Deserialize<CursorData>(WebEncoders.Base64UrlDecode(cursor));
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            data = null;
        }

        if (data is null || data.S < 1)
        {
            throw ApiException.Invalid("cursor", "is not a cursor this API issued");
        }

        if (data.T != type || data.A != after?.UtcTicks || data.B != before?.UtcTicks)
        {
            throw ApiException.Invalid("cursor", "was issued for another filter or range; repeat the same filter[type], created_after and created_before");
        }

        return new EventCursor(data.S);
    }

    private static DateTimeOffset? Timestamp(HttpRequest request, string name)
    {
        var text = QueryParameters.Single(request, name);
        if (text is null)
        {
            return null;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)
            ? value
            : throw ApiException.Invalid(name, "must be an ISO 8601 timestamp such as 2025-01-15T10:00:00Z");
    }

    private sealed record CursorData(long S, string? T, long? A, long? B);
}
