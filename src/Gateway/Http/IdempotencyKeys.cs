using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Grains.Idempotency;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Http;

/// <summary>
/// <c>Idempotency-Key</c> on POST: the first request with a key does the work and its response is kept; a retry
/// with the same key and body gets that response again (<c>Idempotent-Replayed: true</c>) without the work being
/// redone; the same key with another body is 409. Only successful (2xx) responses are kept, so a request that
/// failed validation can be corrected and retried under its key.
/// </summary>
public sealed class IdempotencyKeys(GrainRefs grains, IOptions<JwtOptions> jwt)
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
    /// An id that is the same for every retry of one key, yet unguessable (HMAC with a server secret): a retry after a
    /// crash between the work and its recording finds what the first attempt made instead of making it twice.
    /// </summary>
    public string DeriveId(string prefix, string ownerId, string key)
    {
        var mac = HMACSHA256.HashData(_derivationKey, Encoding.UTF8.GetBytes(ownerId + "\n" + key));
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
    /// <paramref name="work"/> gets the key (or null) and returns the response to send and keep.
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
        switch (begin.Decision)
        {
            case IdempotencyDecision.Replay:
                await WriteAsync(context, begin.Response!, replayed: true);
                return;
            case IdempotencyDecision.Mismatch:
                throw ApiException.Conflict($"This {Header} was already used with a different request.");
            case IdempotencyDecision.InProgress:
                throw ApiException.Conflict($"A request with this {Header} is still in progress. Retry later.");
        }

        StoredResponse response;
        try
        {
            response = await work(key);
        }
        catch
        {
            await grain.AbandonAsync(hash);
            throw;
        }

        await grain.CompleteAsync(hash, response);
        await WriteAsync(context, response, replayed: false);
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

        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(response.Body, context.RequestAborted);
    }
}
