using System.Net;
using System.Net.Sockets;

namespace ApiPlatform.Grains.Webhooks;

/// <summary>
/// Which addresses a webhook may reach: public unicast only. Refuses loopback, private (10/8, 172.16/12, 192.168/16),
/// carrier-grade NAT (100.64/10), link-local (169.254/16 with the cloud metadata address, fe80::/10), unique-local
/// (fc00::/7), unspecified, multicast, reserved, and the IPv4-mapped IPv6 forms of all of them.
/// </summary>
public static class NetworkPolicy
{
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] == 0                                   // "this network", incl. 0.0.0.0
                || b[0] == 10                                    // private
                || b[0] == 127                                   // loopback
                || (b[0] == 100 && (b[1] & 0xC0) == 64)          // CGNAT 100.64/10
                || (b[0] == 169 && b[1] == 254)                  // link-local, metadata
                || (b[0] == 172 && (b[1] & 0xF0) == 16)          // private 172.16/12
                || (b[0] == 192 && b[1] == 168)                  // private
                || (b[0] == 192 && b[1] == 0 && b[2] == 0)       // IETF protocol assignments
                || (b[0] == 198 && (b[1] & 0xFE) == 18)          // benchmarking 198.18/15
                || b[0] >= 224);                                 // multicast, reserved, broadcast
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            return !(IPAddress.IPv6Loopback.Equals(address)
                || IPAddress.IPv6Any.Equals(address)
                || address.IsIPv6LinkLocal
                || address.IsIPv6SiteLocal
                || address.IsIPv6Multicast
                || (b[0] & 0xFE) == 0xFC                         // unique-local fc00::/7
                || (b.Take(12).All(x => x == 0)));               // IPv4-compatible ::a.b.c.d (deprecated)
        }

        return false;
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
