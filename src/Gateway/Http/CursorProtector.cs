using System.Security.Cryptography;
using ApiPlatform.Gateway.Auth;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Http;

/// <summary>
/// Seals paging cursors with an HMAC (key derived from the cluster's shared signing key), so every silo accepts a
/// cursor any silo issued and nothing else: a cursor that was forged, cut or edited is refused before its content is
/// read, and its values reach the query only as the server wrote them.
/// </summary>
public sealed class CursorProtector(IOptions<JwtOptions> jwt)
{
    /// <summary>Longest cursor accepted; a real one is a few hundred characters.</summary>
    public const int MaxLength = 4096;

    private const int MacBytes = 16;
    private readonly byte[] _key = SHA256.HashData([.. "paging-cursors"u8, .. jwt.Value.KeyBytes() ?? []]);

    public string Protect(ReadOnlySpan<byte> payload)
    {
        var mac = HMACSHA256.HashData(_key, payload)[..MacBytes];
        return WebEncoders.Base64UrlEncode(payload) + "." + WebEncoders.Base64UrlEncode(mac);
    }

    /// <summary>The payload of a cursor this service issued, or null for anything else.</summary>
    public byte[]? Unprotect(string cursor)
    {
        var dot = cursor.LastIndexOf('.');
        if (cursor.Length > MaxLength || dot <= 0)
        {
            return null;
        }

        byte[] payload, mac;
        try
        {
            payload = WebEncoders.Base64UrlDecode(cursor, 0, dot);
            mac = WebEncoders.Base64UrlDecode(cursor, dot + 1, cursor.Length - dot - 1);
        }
        catch (FormatException)
        {
            return null;
        }

        var expected = HMACSHA256.HashData(_key, payload)[..MacBytes];
        return CryptographicOperations.FixedTimeEquals(mac, expected) ? payload : null;
    }
}
