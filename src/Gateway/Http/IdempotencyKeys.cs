using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Grains.Idempotency;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace ApiPlatform.Gateway.Http;

/// <summary>
/// <c>Idempotency-Key</c> on POST: the first request with a key does the work and its response is kept; a retry
/// with the same key and body gets that response again (<c>Idempotent-Replayed: true</c>) without the work being
/// redone; the same key with another body is 409. Only successful (2xx) responses are kept, so a request that
/// failed validation can be corrected and retried under its key.
/// </summary>
public sealed class IdempotencyKeys(GrainRefs grains, IOptions<JwtOptions> jwt, ILogger<IdempotencyKeys> logger)
{
    public const string Header = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";
    private const int MaxKeyLength = 255;

    private readonly byte[] _derivationKey = SHA256.HashData([.. "idempotency-ids"u8, .. jwt.Value.KeyBytes() ?? []]);

    /// <summary>The request's key, or null; 400 when it is malformed.</summary>
    public static string? KeyOf(HttpRequest request)
    {
        var values = request.Headers[Header];
        if (values.Count == 0)
        {
            return null;
        }

        var key = values.Count == 1 ? values[0] : null;
        if (key is null || key.Length is 0 or > MaxKeyLength || key.Any(c => c is < '!' or > '~'))
        {
            throw ApiException.Invalid(Header, $"must be one value of 1-{MaxKeyLength} visible ASCII characters");
        }

        return key;
    }

    /// <summary>
    /// A new id for something the request creates: derived from the request's idempotency seed when it carries an
    /// <c>Idempotency-Key</c> (see <see cref="DeriveId"/>), random otherwise.
    /// </summary>
    public string NewId(HttpContext context, string prefix, string ownerId) =>
        context.Features.Get<IdempotencyAttempt>() is { } attempt ? DeriveId(prefix, ownerId, attempt.Seed) : Grains.Ids.New(prefix);

    /// <summary>
    /// An id that is the same for every retry of one use of a key, yet unguessable (HMAC with a server secret): a retry after a
    /// crash between the work and its recording finds what the first attempt made instead of making it twice.
    /// </summary>
    public string DeriveId(string prefix, string ownerId, string seed)
    {
        var mac = HMACSHA256.HashData(_derivationKey, Encoding.UTF8.GetBytes(ownerId + "\n" + seed));
        const string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        var chars = new char[22];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = alphabet[mac[i] % alphabet.Length];
        }

        return prefix + "_" + new string(chars);
    }

    /// <summary>
    /// Runs <paramref name="work"/> at most once per key (when the request has one) and writes the response.
    /// <paramref name="work"/> gets the idempotency seed (null without a key; pass it to <see cref="DeriveId"/>) and
    /// returns the response to send and keep. Only 2xx responses are kept. A request refused with a 4xx frees its key;
    /// any other failure leaves the key bound to this request, so only the same request can retry it.
    /// </summary>
    public async Task RunAsync(HttpContext context, Caller caller, byte[] body, Func<string?, Task<StoredResponse>> work)
    {
        var key = KeyOf(context.Request);
        if (key is null)
        {
            await WriteAsync(context, await work(null), replayed: false);
            return;
        }

        var hash = RequestHash(context.Request, body);
        var grain = grains.Get<IIdempotencyGrain>(caller.OwnerId + ":" + key);
        var begin = await grain.BeginAsync(hash);
        switch (begin.Status)
        {
            case IdempotencyStatus.Replay:
                await WriteAsync(context, begin.Response!, replayed: true);
                return;
            case IdempotencyStatus.Mismatch:
                throw ApiException.Conflict($"This {Header} was already used with a different request.");
            case IdempotencyStatus.InProgress:
                throw ApiException.Conflict($"A request with this {Header} is still in progress. Retry later.");
        }

        context.Features.Set(new IdempotencyAttempt(key + "\n" + begin.Seed, begin.Resumed));
        StoredResponse response;
        try
        {
            response = await work(key + "\n" + begin.Seed);
            if (response.Status is < 200 or > 299)
            {
                await grain.AbandonAsync(hash);
            }
            else
            {
                // Inside the failure path: a save that fails must not leave the key "in progress" for its retries.
                await grain.CompleteAsync(hash, response);
            }
        }
        catch (ApiException e) when (e.Status < 500)
        {
            await ReleaseQuietlyAsync(() => grain.AbandonAsync(hash));
            throw;
        }
        catch
        {
            // The work may have happened: keep the key bound to this request (its seed finds what was made).
            await ReleaseQuietlyAsync(() => grain.InterruptAsync(hash));
            throw;
        }

        await WriteAsync(context, response, replayed: false);
    }

    private async Task ReleaseQuietlyAsync(Func<Task> release)
    {
        try
        {
            await release();
        }
        catch (Exception e)
        {
            // The grain's silo may be the reason the request failed; its running mark then went with it.
            logger.LogWarning(e, "Releasing an {Header} after a failed request failed too", Header);
        }
    }

    /// <summary>A JSON response ready to send and to keep.</summary>
    public static StoredResponse Json<T>(int status, T body, params (string Name, string Value)[] headers) =>
        new(status, headers.ToDictionary(h => h.Name, h => h.Value), JsonSerializer.Serialize(body, ApiJson.Options));

    private static string RequestHash(HttpRequest request, byte[] body)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(request.Method + " " + request.Path + "\n"));
        sha.AppendData(body);
        return Convert.ToHexString(sha.GetHashAndReset());
    }

    private static Task WriteAsync(HttpContext context, StoredResponse response, bool replayed)
    {
        context.Response.StatusCode = response.Status;
        foreach (var (name, value) in response.Headers)
        {
            context.Response.Headers[name] = value;
        }

        if (replayed)
        {
            context.Response.Headers[ReplayedHeader] = "true";
        }

        if (response.Body.Length == 0)
        {
            return Task.CompletedTask;
        }

        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(response.Body, context.RequestAborted);
    }
}

/// <summary>
/// The Idempotency-Key attempt a request runs under: <see cref="Seed"/> derives the ids it creates;
/// <see cref="Resumed"/> says an earlier attempt of the same request began and never finished (it may have done
/// part of the work).
/// </summary>
public sealed record IdempotencyAttempt(string Seed, bool Resumed);

/// <summary>
/// <c>Idempotency-Key</c> for any creating POST: one line on the endpoint. The handler runs at most once per key and
/// request; its result is kept and replayed. Put it after <c>RequireCaller()</c> (keys are per owner).
/// </summary>
public static class IdempotencyEndpointExtensions
{
    /// <summary>Response headers a replay repeats (the body and status always).</summary>
    private static readonly string[] KeptHeaders = [HeaderNames.Location, HeaderNames.ETag];

    public static TBuilder WithIdempotency<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (IdempotencyKeys.KeyOf(http.Request) is null)
            {
                return await next(context);
            }

            // The body is hashed here and read again by the handler: it is small (the body limit bounds it).
            http.Request.EnableBuffering();
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
            http.Request.Body.Position = 0;

            var idempotency = http.RequestServices.GetRequiredService<IdempotencyKeys>();
            await idempotency.RunAsync(http, http.GetCaller(), buffer.ToArray(), async _ => await CaptureAsync(http, await next(context)));
            return Results.Empty;
        });
        builder.WithMetadata(new IdempotentEndpointMetadata());
        return builder;
    }

    /// <summary>Runs the handler's result into memory, so it can be kept and then sent.</summary>
    private static async Task<StoredResponse> CaptureAsync(HttpContext http, object? result)
    {
        var original = http.Response.Body;
        using var captured = new MemoryStream();
        http.Response.Body = captured;
        try
        {
            switch (result)
            {
                case IResult typed:
                    await typed.ExecuteAsync(http);
                    break;
                case null:
                    http.Response.StatusCode = StatusCodes.Status204NoContent;
                    break;
                default:
                    await Results.Ok(result).ExecuteAsync(http);
                    break;
            }
        }
        finally
        {
            http.Response.Body = original;
        }

        var headers = new Dictionary<string, string>();
        foreach (var name in KeptHeaders)
        {
            if (http.Response.Headers.TryGetValue(name, out var value) && value.Count > 0)
            {
                headers[name] = value.ToString();
            }
        }

        return new StoredResponse(http.Response.StatusCode, headers, Encoding.UTF8.GetString(captured.ToArray()));
    }
}

/// <summary>Marks endpoints that honour <c>Idempotency-Key</c> (read by the OpenAPI document).</summary>
public sealed class IdempotentEndpointMetadata;
