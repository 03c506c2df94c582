using System.Net;
using System.Net.Sockets;

namespace ApiPlatform.Grains.Webhooks;

/// <summary>
/// Which addresses a webhook may reach: public unicast only. Refuses loopback, private (10/8, 172.16/12, 192.168/16),
/// carrier-grade NAT (100.64/10), link-local (169.254/16 with the cloud metadata address, fe80::/10), unique-local
/// (fc00::/7), unspecified, multicast, documentation, benchmarking and reserved ranges. IPv6 is allowed only in global
/// unicast space (2000::/3) outside the tunnelling and special-purpose prefixes, and every IPv6 form that carries an
/// IPv4 address (IPv4-mapped and -compatible, IPv4-translated, NAT64 <c>64:ff9b::/96</c>, ISATAP) is judged by the
/// IPv4 address it carries, because a translator or tunnel on the path delivers the packet there.
/// </summary>
public static class NetworkPolicy
{
    public static bool IsPublic(IPAddress address) => address.AddressFamily switch
    {
        AddressFamily.InterNetwork => IsPublicV4(address.GetAddressBytes()),
        AddressFamily.InterNetworkV6 => IsPublicV6(address.GetAddressBytes()),
        _ => false,
    };

    private static bool IsPublicV4(ReadOnlySpan<byte> b) =>
        !(b[0] == 0                                              // "this network", incl. 0.0.0.0
        || b[0] == 10                                            // private
        || b[0] == 127                                           // loopback
        || (b[0] == 100 && (b[1] & 0xC0) == 64)                  // CGNAT 100.64/10
        || (b[0] == 169 && b[1] == 254)                          // link-local, metadata
        || (b[0] == 172 && (b[1] & 0xF0) == 16)                  // private 172.16/12
        || (b[0] == 192 && b[1] == 168)                          // private
        || (b[0] == 192 && b[1] == 0 && b[2] == 0)               // IETF protocol assignments
        || (b[0] == 192 && b[1] == 0 && b[2] == 2)               // documentation TEST-NET-1
        || (b[0] == 192 && b[1] == 88 && b[2] == 99)             // 6to4 relay anycast (deprecated)
        || (b[0] == 198 && (b[1] & 0xFE) == 18)                  // benchmarking 198.18/15
        || (b[0] == 198 && b[1] == 51 && b[2] == 100)            // documentation TEST-NET-2
        || (b[0] == 203 && b[1] == 0 && b[2] == 113)             // documentation TEST-NET-3
        || b[0] >= 224);                                         // multicast, reserved, broadcast

    private static bool IsPublicV6(byte[] b)
    {
        // Forms that carry an IPv4 address in their last 32 bits: whatever translates or tunnels them reaches that
        // IPv4 address, so it decides.
        if (b.AsSpan(0, 10).IndexOfAnyExcept((byte)0) < 0
            && ((b[10] == 0xFF && b[11] == 0xFF)                                        // IPv4-mapped ::ffff:a.b.c.d
                || (b[10] == 0 && b[11] == 0)))                                         // IPv4-compatible ::a.b.c.d, also :: and ::1
        {
            return IsPublicV4(b.AsSpan(12));
        }

        if (b.AsSpan(0, 8).IndexOfAnyExcept((byte)0) < 0 && b[8] == 0xFF && b[9] == 0xFF && b[10] == 0 && b[11] == 0)
        {
            return IsPublicV4(b.AsSpan(12));                                            // IPv4-translated ::ffff:0:a.b.c.d
        }

        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B)
        {
            // NAT64: the well-known prefix 64:ff9b::/96 maps to the IPv4 address it carries (DNS64 synthesizes these
            // for public hosts on IPv6-only networks); 64:ff9b:1::/48 is for local translators and always refused.
            return b.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0 && IsPublicV4(b.AsSpan(12));
        }

        if ((b[0] & 0xE0) != 0x20)
        {
            return false;                                                               // outside global unicast 2000::/3
        }

        var prefix32 = (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
        if (b[0] == 0x20 && b[1] == 0x02)
        {
            return false;                                                               // 6to4 2002::/16 (deprecated)
        }

        if (prefix32 == 0x20010000                                                      // Teredo 2001::/32
            || prefix32 == 0x20010DB8                                                   // documentation 2001:db8::/32
            || (prefix32 & ~0x1FF) == 0x20010000                                        // IETF protocol assignments 2001::/23
            || (b[0] == 0x3F && b[1] == 0xFF && (b[2] & 0xF0) == 0x00))                 // documentation 3fff::/20
        {
            return false;
        }

        // ISATAP interface identifiers (::0:5efe:a.b.c.d, ::200:5efe:a.b.c.d) carry the IPv4 tunnel endpoint.
        if ((b[8] & 0xFD) == 0x00 && b[9] == 0x00 && b[10] == 0x5E && b[11] == 0xFE)
        {
            return IsPublicV4(b.AsSpan(12));
        }

        return true;
    }

    /// <summary>True when <paramref name="port"/> may be connected to: any port, unless <c>Webhooks:AllowedPorts</c> lists some.</summary>
    public static bool IsAllowedPort(int port, WebhookOptions options) =>
        options.AllowedPorts is not { Length: > 0 } allowed || allowed.Contains(port);

    /// <summary>
    /// <see cref="CheckUrlAsync(string, bool, CancellationToken)"/> with the deployment's options: private networks as
    /// <see cref="WebhookOptions.AllowPrivateNetworks"/> says, and only the ports of <see cref="WebhookOptions.AllowedPorts"/>
    /// when it lists any.
    /// </summary>
    public static Task<string?> CheckUrlAsync(string url, WebhookOptions options, CancellationToken cancellationToken = default)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && !IsAllowedPort(uri.Port, options))
        {
            return Task.FromResult<string?>($"must use one of the ports {string.Join(", ", options.AllowedPorts!)} (got {uri.Port})");
        }

        return CheckUrlAsync(url, options.AllowPrivateNetworks, cancellationToken);
    }

    /// <summary>
    /// Null when <paramref name="url"/> may be a webhook target; otherwise why not. Resolves the host: a name that does
    /// not resolve is refused, and so is one with any non-public address (unless <paramref name="allowPrivate"/>).
    /// Delivery checks the address actually connected to again, which defeats DNS rebinding.
    /// </summary>
    public static async Task<string?> CheckUrlAsync(string url, bool allowPrivate, CancellationToken cancellationToken = default)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return "must be an absolute http or https URL";
        }

        IPAddress[] addresses;
        if (IPAddress.TryParse(uri.IdnHost, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                addresses = await Dns.GetHostAddressesAsync(uri.IdnHost, timeout.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ArgumentException)
            {
                return $"host '{uri.Host}' could not be resolved";
            }

            if (addresses.Length == 0)
            {
                return $"host '{uri.Host}' could not be resolved";
            }
        }

        if (!allowPrivate && addresses.FirstOrDefault(a => !IsPublic(a)) is { } refused)
        {
            return $"must not point to a private, loopback or link-local address ({refused})";
        }

        return null;
    }
}
