using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Gateway.Http;
using ApiPlatform.Gateway.Identity;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Grains;
using ApiPlatform.Grains.Organizations;
using ApiPlatform.Grains.Webhooks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>A webhook on the wire: never its secret, only <c>secret_prefix</c>.</summary>
public sealed record WebhookResponse(
    string Id, string Url, IReadOnlyList<string> Events, string? Description, bool Enabled, string? DisabledReason,
    string SecretPrefix, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static WebhookResponse From(WebhookView w) =>
        new(w.Id, w.Url, w.Events, w.Description, w.Enabled, w.DisabledReason, w.SecretPrefix, w.CreatedAt, w.UpdatedAt);
}

/// <summary>A webhook with its full signing secret: the answer to creation and rotation only.</summary>
public sealed record WebhookSecretResponse(
    string Id, string Url, IReadOnlyList<string> Events, string? Description, bool Enabled, string? DisabledReason,
    string SecretPrefix, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string Secret)
{
    public static WebhookSecretResponse From(WebhookView w, string secret) =>
        new(w.Id, w.Url, w.Events, w.Description, w.Enabled, w.DisabledReason, w.SecretPrefix, w.CreatedAt, w.UpdatedAt, secret);
}

/// <summary>One entry of a webhook's delivery log.</summary>
public sealed record DeliveryResponse(
    string Id, string WebhookId, string EventId, string EventType, string Status, int Attempts, int? LastStatusCode, string? LastError,
    DateTimeOffset? NextAttemptAt, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static DeliveryResponse From(DeliveryView d) =>
        new(d.Id, d.WebhookId, d.EventId, d.EventType, d.Status, d.Attempts, d.LastStatusCode, d.LastError, d.NextAttemptAt, d.CreatedAt, d.UpdatedAt);
}

// Request bodies: each record is its OpenAPI schema and holds its parser (400 naming every bad field). They are
// parsed in the handler, not bound as parameters: binding would run before the endpoint filters that authenticate.

/// <summary>The body of <c>POST /v1/webhooks</c>; read as the tenant's new webhook, enabled unless it says otherwise.</summary>
public sealed record CreateWebhookRequest(string Url, IReadOnlyList<string> Events, string? Secret, string? Description, bool? Enabled)
{
    public static async Task<WebhookDraft> ReadAsync(HttpRequest request, string ownerId)
    {
        var body = await JsonBody.ReadAsync(request);
        var url = WebhooksApi.ReadUrl(body, required: true);
        var events = WebhooksApi.ReadEvents(body, required: true);
        var description = body.String("description", maxLength: WebhooksApi.MaxDescriptionLength);
        var enabled = body.Boolean("enabled") ?? true;
        var secret = body.String("secret", maxLength: 200);
        if (secret is not null && !WebhooksApi.IsValidSecret(secret))
        {
            body.AddError("secret", "must be 'whsec_' followed by the base64 of 24 to 64 random bytes");
        }

        body.ThrowIfInvalid();
        return new WebhookDraft(ownerId, url!, events!, description, enabled, secret);
    }
}

/// <summary>The body of <c>PATCH /v1/webhooks/{id}</c>: absent fields stay, a null description clears it, null url, events or enabled are refused.</summary>
public sealed record UpdateWebhookRequest(string? Url, IReadOnlyList<string>? Events, string? Description, bool? Enabled)
{
    public static async Task<WebhookPatch> ReadAsync(HttpRequest request)
    {
        var body = await JsonBody.ReadAsync(request);
        var url = body.Has("url") ? WebhooksApi.ReadUrl(body, required: true) : null;
        var events = body.Has("events") ? WebhooksApi.ReadEvents(body, required: true) : null;
        var description = body.String("description", maxLength: WebhooksApi.MaxDescriptionLength);
        var enabled = body.Boolean("enabled");
        if (body.IsNull("enabled"))
        {
            body.AddError("enabled", "cannot be null");
        }

        body.ThrowIfInvalid();
        return new WebhookPatch(url, events, description, body.IsNull("description"), enabled);
    }
}

/// <summary>
/// <c>/v1/webhooks</c>: the tenant's webhook endpoints, their delivery log, tests, redeliveries and secret rotation.
/// In an organization, webhooks are managed by admins and owners.
/// </summary>
public static class WebhooksApi
{
    public const int MaxUrlLength = 2048;
    public const int MaxDescriptionLength = 500;

    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/webhooks").WithTags(ApiTags.Webhooks).RequireCaller()
            .RequireOrganizationRole(OrgRoles.Admin)
            .WithParameter("id", "The webhook's id (wh_…).")
            .WithParameter("deliveryId", "The delivery's id (whd_…).");

        group.MapPost("/", CreateAsync).WithIdempotency()
            .CarriesSecrets()
            .Describe("createWebhook", "Create a webhook",
                "Subscribes a public HTTPS URL to event types (or patterns such as resource.*). The answer is the only time the "
                + "signing secret (whsec_…) is shown unless rotated. The plan's cap on webhooks answers 402.")
            .Accepts<CreateWebhookRequest>("application/json")
            .Produces<DataEnvelope<WebhookSecretResponse>>(StatusCodes.Status201Created)
            .ProducesErrors(400, 401, 402, 403, 413, 415);
        group.MapGet("/", ListAsync)
            .Describe("listWebhooks", "List webhooks", "The owner's webhooks, without their secrets.")
            .Paged()
            .Produces<ListEnvelope<WebhookResponse>>()
            .ProducesErrors(400, 401, 403);
        group.MapGet("/{id}", GetAsync)
            .Describe("getWebhook", "Get a webhook", "One webhook, with why it was disabled if it was.")
            .WithContentETag()
            .Produces<DataEnvelope<WebhookResponse>>()
            .ProducesErrors(401, 403, 404);
        group.MapPatch("/{id}", UpdateAsync)
            .Describe("updateWebhook", "Update a webhook", "Changes the URL, events, description or enabled flag; enabling clears the failure count.")
            .Accepts<UpdateWebhookRequest>("application/json")
            .Produces<DataEnvelope<WebhookResponse>>()
            .ProducesErrors(400, 401, 403, 404, 413, 415);
        group.MapDelete("/{id}", DeleteAsync)
            .Describe("deleteWebhook", "Delete a webhook", "Deletes the webhook; pending deliveries are not sent.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesErrors(401, 403, 404);
        group.MapPost("/{id}/rotate-secret", RotateSecretAsync)
            .CarriesSecrets()
            .Describe("rotateWebhookSecret", "Rotate a webhook's signing secret",
                "Issues a new secret (shown in the answer); deliveries are signed with both until the old one expires.")
            .Produces<DataEnvelope<WebhookSecretResponse>>()
            .ProducesErrors(401, 403, 404);
        group.MapPost("/{id}/test", TestAsync)
            .Describe("testWebhook", "Send a test event", "Queues a webhook.test delivery to the endpoint and answers with the delivery.")
            .Produces<DataEnvelope<DeliveryResponse>>(StatusCodes.Status202Accepted)
            .ProducesErrors(401, 403, 404);
        group.MapGet("/{id}/deliveries", ListDeliveriesAsync)
            .Describe("listWebhookDeliveries", "List a webhook's deliveries", "Deliveries with their status, attempts and last response, newest first.")
            .Paged()
            .Produces<ListEnvelope<DeliveryResponse>>()
            .ProducesErrors(400, 401, 403, 404);
        group.MapPost("/{id}/deliveries/{deliveryId}/redeliver", RedeliverAsync)
            .Describe("redeliverWebhookDelivery", "Send a delivery again", "Queues a new delivery of the same event to the endpoint.")
            .Produces<DataEnvelope<DeliveryResponse>>(StatusCodes.Status202Accepted)
            .ProducesErrors(401, 403, 404);
        return routes;
    }

    private static async Task<Created<DataEnvelope<WebhookSecretResponse>>> CreateAsync(HttpContext context, GrainRefs grains, IOptions<PlanOptions> plans)
    {
        var caller = context.GetCaller();
        var draft = await CreateWebhookRequest.ReadAsync(context.Request, caller.OwnerId);
        var cap = plans.Value.LimitsOf(caller.CapPlan).MaxWebhooks;
        var outcome = await Grain(grains, Ids.New(Ids.Webhook)).CreateAsync(draft, cap);
        var created = outcome.Status switch
        {
            WebhookStatus.Done => outcome.Webhook!,
            WebhookStatus.PlanLimitReached => throw ApiException.PlanLimit($"The '{caller.CapPlan}' plan allows {cap} webhooks. Delete one or upgrade."),
            WebhookStatus.InvalidUrl => throw ApiException.Invalid("url", outcome.Error!),
            _ => throw new InvalidOperationException($"Creating a webhook answered {outcome.Status}."),
        };
        return TypedResults.Created($"/v1/webhooks/{created.Id}",
            new DataEnvelope<WebhookSecretResponse>(WebhookSecretResponse.From(created, outcome.Secret!)));
    }

    private static async Task<Ok<ListEnvelope<WebhookResponse>>> ListAsync(HttpContext context, GrainRefs grains)
    {
        var paging = Paging.From(context.Request);
        var page = await grains.Get<IWebhookQueryWorker>(0).ListAsync(context.GetCaller().OwnerId, paging.Offset, paging.PerPage);
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(new ListEnvelope<WebhookResponse>(page.Items.Select(WebhookResponse.From).ToList(),
            PageMeta.Of(paging.Page, paging.PerPage, page.Total)));
    }

    private static async Task<Ok<DataEnvelope<WebhookResponse>>> GetAsync(string id, HttpContext context, GrainRefs grains)
    {
        var webhook = Ids.IsValid(id, Ids.Webhook) ? await Grain(grains, id).GetAsync(context.GetCaller().OwnerId) : null;
        return TypedResults.Ok(new DataEnvelope<WebhookResponse>(WebhookResponse.From(webhook ?? throw NotFound())));
    }

    private static async Task<Ok<DataEnvelope<WebhookResponse>>> UpdateAsync(string id, HttpContext context, GrainRefs grains)
    {
        var caller = context.GetCaller();
        CheckId(id);
        var patch = await UpdateWebhookRequest.ReadAsync(context.Request);
        var outcome = await Grain(grains, id).UpdateAsync(caller.OwnerId, patch);
        return TypedResults.Ok(new DataEnvelope<WebhookResponse>(WebhookResponse.From(Done(outcome).Webhook!)));
    }

    private static async Task<NoContent> DeleteAsync(string id, HttpContext context, GrainRefs grains)
    {
        CheckId(id);
        return await Grain(grains, id).DeleteAsync(context.GetCaller().OwnerId) ? TypedResults.NoContent() : throw NotFound();
    }

    private static async Task<Ok<DataEnvelope<WebhookSecretResponse>>> RotateSecretAsync(string id, HttpContext context, GrainRefs grains)
    {
        CheckId(id);
        var outcome = Done(await Grain(grains, id).RotateSecretAsync(context.GetCaller().OwnerId));
        return TypedResults.Ok(new DataEnvelope<WebhookSecretResponse>(WebhookSecretResponse.From(outcome.Webhook!, outcome.Secret!)));
    }

    private static async Task<Accepted<DataEnvelope<DeliveryResponse>>> TestAsync(string id, HttpContext context, GrainRefs grains)
    {
        CheckId(id);
        var outcome = Done(await Grain(grains, id).SendTestAsync(context.GetCaller().OwnerId));
        return TypedResults.Accepted($"/v1/webhooks/{id}/deliveries", new DataEnvelope<DeliveryResponse>(DeliveryResponse.From(outcome.Delivery!)));
    }

    private static async Task<Ok<ListEnvelope<DeliveryResponse>>> ListDeliveriesAsync(string id, HttpContext context, GrainRefs grains)
    {
        CheckId(id);
        var paging = Paging.From(context.Request);
        var page = await Grain(grains, id).ListDeliveriesAsync(context.GetCaller().OwnerId, paging.Offset, paging.PerPage) ?? throw NotFound();
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(new ListEnvelope<DeliveryResponse>(page.Items.Select(DeliveryResponse.From).ToList(),
            PageMeta.Of(paging.Page, paging.PerPage, page.Total)));
    }

    private static async Task<Accepted<DataEnvelope<DeliveryResponse>>> RedeliverAsync(string id, string deliveryId, HttpContext context, GrainRefs grains)
    {
        CheckId(id);
        if (!Ids.IsValid(deliveryId, Ids.Delivery))
        {
            throw ApiException.NotFound("The delivery");
        }

        var outcome = await Grain(grains, id).RedeliverAsync(context.GetCaller().OwnerId, deliveryId);
        if (outcome.Status == WebhookStatus.NotFound)
        {
            throw ApiException.NotFound("The delivery");
        }

        Done(outcome);

        return TypedResults.Accepted($"/v1/webhooks/{id}/deliveries", new DataEnvelope<DeliveryResponse>(DeliveryResponse.From(outcome.Delivery!)));
    }

    private static IWebhookGrain Grain(GrainRefs grains, string id) => grains.Get<IWebhookGrain>(id);

    private static WebhookOutcome Done(WebhookOutcome outcome) => outcome.Status switch
    {
        WebhookStatus.Done => outcome,
        WebhookStatus.InvalidUrl => throw ApiException.Invalid("url", outcome.Error!),
        WebhookStatus.RateLimited => throw ApiException.TooManyRequests(
            "This endpoint's budget of test calls and redeliveries is spent; retry after the window ends.", outcome.RetryAfter ?? TimeSpan.FromSeconds(1)),
        _ => throw NotFound(),
    };

    private static ApiException NotFound() => ApiException.NotFound("The webhook");

    /// <summary>A malformed id is simply absent: 404 before the body is read.</summary>
    private static void CheckId(string id)
    {
        if (!Ids.IsValid(id, Ids.Webhook))
        {
            throw NotFound();
        }
    }

    internal static string? ReadUrl(BodyReader body, bool required)
    {
        var url = body.String("url", required: required, minLength: 1, maxLength: MaxUrlLength);
        if (url is null)
        {
            return null;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || string.IsNullOrEmpty(uri.Host) || uri.UserInfo.Length > 0)
        {
            body.AddError("url", "must be an absolute http or https URL without credentials");
            return null;
        }

        return url;
    }

    internal static List<string>? ReadEvents(BodyReader body, bool required)
    {
        if (required && (!body.Has("events") || body.IsNull("events")))
        {
            body.AddError("events", "is required");
            return null;
        }

        var events = body.StringArray("events", maxItems: WebhookEventTypes.All.Count * 2);
        if (events is null)
        {
            return null;
        }

        if (events.Count == 0 || events.Any(e => !WebhookEventTypes.IsValid(e)))
        {
            body.AddError("events", $"must be a non-empty list of: {string.Join(", ", WebhookEventTypes.All)}");
            return null;
        }

        // Stored in the published order, once each.
        return WebhookEventTypes.All.Where(events.Contains).ToList();
    }

    /// <summary><c>whsec_</c> + base64 of 24 to 64 bytes.</summary>
    public static bool IsValidSecret(string secret)
    {
        const string prefix = "whsec_";
        if (!secret.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var buffer = new byte[96];
        return Convert.TryFromBase64String(secret[prefix.Length..], buffer, out var length) && length is >= 24 and <= 64;
    }
}
