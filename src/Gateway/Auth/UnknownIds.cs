using System.Collections.Concurrent;
using ApiPlatform.Grains;

namespace ApiPlatform.Gateway.Auth;

/// <summary>
/// This silo's short memory of ids that named nothing (an <c>X-Organization-Id</c> of no organization, the key id of a
/// made-up API key), so that asking again with the same id costs no grain activation and no storage read. Ids are
/// random and issued only at creation, so an id that did not exist a moment ago is not about to: the memory only
/// saves work, it never hides something that exists. Entries end after <see cref="Lifetime"/>.
/// </summary>
public sealed class UnknownIds(ApiClock clock)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);

    /// <summary>Entries kept at most; past it the memory starts again empty (it only saves work).</summary>
    public const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<string, DateTimeOffset> _until = new(StringComparer.Ordinal);

    public bool Contains(string id)
    {
        if (!_until.TryGetValue(id, out var until))
        {
            return false;
        }

        if (clock.UtcNow < until)
        {
            return true;
        }

        _until.TryRemove(new KeyValuePair<string, DateTimeOffset>(id, until));
        return false;
    }

    public void Add(string id)
    {
        if (_until.Count >= MaxEntries)
        {
            _until.Clear();
        }

        _until[id] = clock.UtcNow + Lifetime;
    }
}
