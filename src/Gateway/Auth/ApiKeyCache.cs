using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using ApiPlatform.Grains;
using ApiPlatform.Grains.ApiKeys;

namespace ApiPlatform.Gateway.Auth;

/// <summary>
/// This silo's memory of API keys its key grains found valid, so a busy key costs no grain call per request (the
/// perf profiles of GET one and create in bench/COMPARE.md). An entry is the caller a key was verified as, kept
/// under the SHA-256 of the presented key (never the key itself), and it is used only while all of these hold:
/// <list type="bullet">
/// <item>the key's grain has not told this silo to forget it: a revoke or a roll does so, and waits for it, before
/// it answers, and so does the grain's deactivation (<see cref="IApiKeyHolder"/>);</item>
/// <item>the key's <c>expires_at</c> has not passed;</item>
/// <item>it is younger than <see cref="MaxAge"/>: the bound on a stale answer if the key's grain was lost with its
/// silo (so it could tell no one) and the key was revoked within that time.</item>
/// </list>
/// Only valid keys are kept; anything else asks the grain every time.
/// </summary>
public sealed class ApiKeyCache(IGrainFactory grains, ApiClock clock) : IApiKeyHolder
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(30);

    /// <summary>Entries kept at most; past it the cache starts again empty (keys are few; this only bounds memory).</summary>
    public const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _referenceGate = new();
    private IApiKeyHolder? _reference;
    private long _forgets;

    private sealed record Entry(byte[] Digest, Caller Caller, DateTimeOffset? ExpiresAt, DateTimeOffset FreshUntil);

    /// <summary>This cache as the key grains address it (created on first use: a client may connect after start).</summary>
    public IApiKeyHolder Reference
    {
        get
        {
            lock (_referenceGate)
            {
                return _reference ??= grains.CreateObjectReference<IApiKeyHolder>(this);
            }
        }
    }

    /// <summary>
    /// Marks the start of a verification with the grain: <see cref="Add"/> keeps its answer only if nothing was
    /// forgotten meanwhile (the answer may predate a revoke whose notice has already come and gone).
    /// </summary>
    public long Stamp => Interlocked.Read(ref _forgets);

    public bool TryGet(string keyId, string presented, out Caller caller)
    {
        caller = null!;
        if (!_entries.TryGetValue(keyId, out var entry))
        {
            return false;
        }

        var now = clock.UtcNow;
        if (!CryptographicOperations.FixedTimeEquals(entry.Digest, Digest(presented)) || now >= entry.FreshUntil || now >= entry.ExpiresAt)
        {
            return false;
        }

        caller = entry.Caller;
        return true;
    }

    public void Add(string keyId, string presented, Caller caller, DateTimeOffset? expiresAt, long stamp)
    {
        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        _entries[keyId] = new Entry(Digest(presented), caller, expiresAt, clock.UtcNow + MaxAge);
        if (Stamp != stamp)
        {
            // A forget arrived while this answer was on its way: it may be about this key, so do not keep it.
            _entries.TryRemove(keyId, out _);
        }
    }

    public Task ForgetAsync(string keyId)
    {
        Interlocked.Increment(ref _forgets);
        _entries.TryRemove(keyId, out _);
        return Task.CompletedTask;
    }

    private static byte[] Digest(string presented) => SHA256.HashData(Encoding.UTF8.GetBytes(presented));
}
