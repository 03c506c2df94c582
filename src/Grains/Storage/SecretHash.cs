using System.Security.Cryptography;
using System.Text;

namespace ApiPlatform.Grains.Storage;

/// <summary>
/// The stored form of a secret: SHA-256 for high-entropy machine secrets (API keys, refresh tokens). Unlike passwords these carry 200+ random
/// bits, so a fast hash is safe and keeps per-request verification cheap.
/// </summary>
public static class SecretHash
{
    public static string Of(string secret) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>Compares a presented secret with a stored hash in constant time.</summary>
    public static bool Matches(string secret, string storedHash)
    {
        if (storedHash.Length == 0)
        {
            return false;
        }

        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        Span<byte> stored = stackalloc byte[32];
        return Convert.FromHexString(storedHash, stored, out _, out var written) == System.Buffers.OperationStatus.Done
            && written == 32
            && CryptographicOperations.FixedTimeEquals(presented, stored);
    }
}
