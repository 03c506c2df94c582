using ApiPlatform.Gateway.Errors;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>
/// How an endpoint describes itself in the OpenAPI document. Every operation needs, and CI's lint
/// (tests/ApiTests/OpenApiLintTests.cs: Spectral and Redocly, warnings count) fails without:
/// <list type="bullet">
/// <item><see cref="Describe"/>: operationId, summary and description, in one call;</item>
/// <item>a tag on its group (<c>WithTags</c>) that <see cref="ApiTags.Descriptions"/> describes;</item>
/// <item><c>Accepts&lt;TRequest&gt;</c> when it reads a body, <c>Produces&lt;TResponse&gt;(status)</c> for its success, and
/// <see cref="ProducesErrors"/> for every problem status it can answer;</item>
/// <item>a description for each path and query parameter: <see cref="WithParameter{TBuilder}"/> (on a group for
/// the ids it shares), <see cref="WithQueryParameter{T}"/> and <see cref="Paged"/> for the query;</item>
/// <item>a <c>public static T Example</c> on response and request records, which becomes the schema's example.</item>
/// </list>
/// </summary>
public static class OpenApiExtensions
{
    /// <summary>Declares an endpoint's problem responses; every endpoint can also answer 429 and 500.</summary>
    public static RouteHandlerBuilder ProducesErrors(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses.Append(StatusCodes.Status429TooManyRequests).Append(StatusCodes.Status500InternalServerError).Distinct())
        {
            builder.Produces<Problem>(status, "application/problem+json");
        }

        return builder;
    }

    /// <summary>
    /// Names the operation: <paramref name="operationId"/> is unique and camelCase (verb then noun: <c>createResource</c>,
    /// the name generated clients give the method), <paramref name="summary"/> one short line, <paramref name="description"/>
    /// what a client must know to call it (rules, side effects, what it refuses).
    /// </summary>
    public static RouteHandlerBuilder Describe(this RouteHandlerBuilder builder, string operationId, string summary, string description) =>
        builder.WithName(operationId).WithSummary(summary).WithDescription(description);

    /// <summary>Describes a path parameter (or query parameter the framework already knows) of these endpoints.</summary>
    public static TBuilder WithParameter<TBuilder>(this TBuilder builder, string name, string description) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ParameterDescription(name, description));

    /// <summary>Declares a query parameter the handler reads from the query string itself.</summary>
    public static RouteHandlerBuilder WithQueryParameter<T>(this RouteHandlerBuilder builder, string name, string description) =>
        builder.WithMetadata(new QueryParameterDescription(name, typeof(T), description));

    /// <summary>
    /// Declares a success whose JSON body is one of two shapes (a <c>oneOf</c> in the document, a union in generated
    /// clients), for an endpoint whose answer depends on configuration; <paramref name="description"/> says when each comes.
    /// </summary>
    public static RouteHandlerBuilder ProducesOneOf<TFirst, TSecond>(this RouteHandlerBuilder builder, int status, string description) => builder
        .Produces<TFirst>(status)
        .Produces<TSecond>(status)
        .WithMetadata(new OneOfResponseDescription(status, [typeof(TFirst), typeof(TSecond)], description));

    /// <summary>Declares <c>page</c> and <c>per_page</c> (the contract's offset paging).</summary>
    public static RouteHandlerBuilder Paged(this RouteHandlerBuilder builder) => builder
        .WithQueryParameter<int>("page", "Page number, from 1 (default 1).")
        .WithQueryParameter<int>("per_page", $"Items per page, 1-{Paging.MaxPerPage} (default {Paging.DefaultPerPage}).");
}

/// <summary>Endpoint metadata: the description of a parameter named <see cref="Name"/>.</summary>
public sealed record ParameterDescription(string Name, string Description);

/// <summary>Endpoint metadata: a query parameter the handler parses itself (so the framework cannot see it).</summary>
public sealed record QueryParameterDescription(string Name, Type Type, string Description);

/// <summary>Endpoint metadata: the success <see cref="Status"/> answers with one of <see cref="Types"/> as its JSON body.</summary>
public sealed record OneOfResponseDescription(int Status, IReadOnlyList<Type> Types, string Description);

/// <summary>The tags operations are grouped under, each with the description the document gives it.</summary>
public static class ApiTags
{
    public const string Auth = "Auth";
    public const string Users = "Users";
    public const string ApiKeys = "API keys";
    public const string Resources = "Resources";
    public const string Organizations = "Organizations";
    public const string Webhooks = "Webhooks";
    public const string Events = "Events";
    public const string ResourceTypes = "Resource types";
    public const string Usage = "Usage";
    public const string Health = "Health";

    public static readonly IReadOnlyDictionary<string, string> Descriptions = new Dictionary<string, string>
    {
        [Auth] = "Registration, login, and the access and refresh tokens of a login session.",
        [Users] = "The caller's own account and the user directory.",
        [ApiKeys] = "Long-lived credentials for servers: created, listed, rolled and revoked by their owner.",
        [Resources] = "The tenant's JSON documents, with ETags, conditional writes, filters, sorts and keyset paging.",
        [Organizations] = "Teams that own resources, keys and webhooks together, with members and roles.",
        [Webhooks] = "Signed HTTP callbacks (Standard Webhooks) for changes, with deliveries, retries and redelivery.",
        [Events] = "The owner's log of changes (kept for Events:Retention), listed with filters and paging or followed live as Server-Sent Events.",
        [ResourceTypes] = "Declared resource types: a JSON Schema for metadata, a stored-size cap, indexed fields for filters and sorts, "
            + "and whether writes need If-Match.",
        [Usage] = "What the acting owner uses of its plan: counts against each cap and the current rate-limit window.",
        [Health] = "Liveness and readiness of a server, for load balancers and orchestrators; no credential needed.",
    };
}
