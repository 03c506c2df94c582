using System.Security.Cryptography;

namespace ApiPlatform.Grains;

/// <summary>
/// Opaque, unguessable identifiers with a type prefix (<c>usr_</c>, <c>key_</c>, ...).
/// </summary>
public static class Ids
{
    public const string User = "usr";
    public const string Organization = "org";
    public const string Resource = "res";
    public const string ApiKey = "key";
    public const string Session = "ses";
    public const string Webhook = "wh";
    public const string Event = "evt";
    public const string Delivery = "whd";
    public const string Invitation = "inv";

    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>Creates <c>{prefix}_{22 base62 chars}</c>: 128 random bits.</summary>
    public static string New(string prefix) => prefix + "_" + RandomToken(22);

    /// <summary>A base62 string of <paramref name="length"/> characters, each drawn uniformly (≈5.95 bits).</summary>
    /// <remarks>
    /// One call to the cryptographic generator fills a buffer; bytes of 248 and above are rejected (248 = 4 × 62), so
    /// every character stays uniform. One call per character cost as much as authenticating a request.
    /// </remarks>
    public static string RandomToken(int length) =>
        string.Create(length, 0, static (span, _) =>
        {
            Span<byte> buffer = stackalloc byte[64];
            var filled = 0;
            while (filled < span.Length)
            {
                RandomNumberGenerator.Fill(buffer);
                foreach (var b in buffer)
                {
                    if (b < 248)
                    {
                        span[filled++] = Alphabet[b % 62];
                        if (filled == span.Length)
                        {
                            return;
                        }
                    }
                }
            }
        });

    /// <summary>True when <paramref name="id"/> looks like an id of the given type.</summary>
    public static bool IsValid(string? id, string prefix) =>
        id is not null
        && id.Length == prefix.Length + 1 + 22
        && id.StartsWith(prefix, StringComparison.Ordinal)
        && id[prefix.Length] == '_'
        && id.AsSpan(prefix.Length + 1).ContainsAnyExcept(Alphabet) is false;

    /// <summary>The random part of an id (after the prefix and underscore).</summary>
    public static string Suffix(string id) => id[(id.IndexOf('_') + 1)..];
}
