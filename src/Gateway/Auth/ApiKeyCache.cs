using System.Security.Cryptography;
using System.Text;
using ApiPlatform.Grains;
using ApiPlatform.Grains.ApiKeys;

namespace ApiPlatform.Gateway.Auth;

/// <summary>
/// This silo's memory of API keys their grains found valid, so a busy key costs no grain call per request (the perf
/// profiles of GET one and create in bench/COMPARE.md). An entry is the grain's answer (owner, creator, scopes, pinned
/// plan, expiry), kept under the SHA-256 of the presented key (never the key itself), and it is used only while the
/// key's grain has not told this silo to forget it (a revoke or a roll does so before it answers), the key's
/// <c>expires_at</c> has not passed, and it is younger than <see cref="ForgettingCache{TEntry}.MaxAge"/>. Only valid
/// keys are kept; anything else asks the grain every time. What the owner and creator may do now is not part of the
/// entry: <see cref="AccountCache"/> answers that on every request.
/// </summary>
public sealed class ApiKeyCache(IGrainFactory grains, LocalHolders local, ApiClock clock) : ForgettingCache<ApiKeyCache.Entry>(clock), IApiKeyHolder
{
    private readonly Lock _referenceGate = new();
    private IApiKeyHolder? _reference;

    public sealed record Entry(byte[] Digest, ApiKeyCheckOutcome Check);

    /// <summary>This cache as the key grains address it (created on first use: a client may connect after start).</summary>
    public IApiKeyHolder Reference
    {
        get
        {
            lock (_referenceGate)
            {
                return _reference ??= local.Create<IApiKeyHolder>(grains, this);
            }
        }
    }

    public bool TryGet(string keyId, string presented, out ApiKeyCheckOutcome check)
    {
        check = null!;
        if (!TryGetFresh(keyId, out var entry)
            || !CryptographicOperations.FixedTimeEquals(entry.Digest, Digest(presented))
            || Clock.UtcNow >= entry.Check.ExpiresAt)
        {
            return false;
        }

        check = entry.Check;
        return true;
    }

    /// <summary>
    /// <see cref="TryGet"/> for an entry up to <paramref name="staleAge"/> past its freshness: only while the key's grain
    /// is unreachable (see <see cref="Failover.FailoverOptions.StaleCredentialAge"/>). The key's own expiry still holds.
    /// </summary>
    public bool TryGetStale(string keyId, string presented, TimeSpan staleAge, out ApiKeyCheckOutcome check)
    {
        check = null!;
        if (!TryGetStale(keyId, staleAge, out var entry)
            || !CryptographicOperations.FixedTimeEquals(entry.Digest, Digest(presented))
            || Clock.UtcNow >= entry.Check.ExpiresAt)
        {
            return false;
        }

        check = entry.Check;
        return true;
    }

    public void Add(string keyId, string presented, ApiKeyCheckOutcome check, long stamp) => Put(keyId, new Entry(Digest(presented), check), stamp);

    public Task ForgetAsync(string keyId)
    {
        Forget(keyId);
        return Task.CompletedTask;
    }

    private static byte[] Digest(string presented) => SHA256.HashData(Encoding.UTF8.GetBytes(presented));
}
