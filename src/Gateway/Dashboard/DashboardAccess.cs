using System.Security.Cryptography;
using System.Text;
using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Grains;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Users;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ApiPlatform.Gateway.Dashboard;

/// <summary>The Orleans Dashboard at <c>/dashboard</c> (configuration section <c>Dashboard</c>).</summary>
public sealed class AdminDashboardOptions
{
    public const string Section = "Dashboard";

    /// <summary>Serve the dashboard (silo role only: a gateway-only process has no grains to show).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long a browser's dashboard session lasts before signing in again.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Hides the dashboard's live log stream.</summary>
    public bool HideTrace { get; set; }
}

/// <summary>Validates <see cref="AdminDashboardOptions"/> at start-up.</summary>
public sealed class AdminDashboardOptionsValidator : IValidateOptions<AdminDashboardOptions>
{
    public ValidateOptionsResult Validate(string? name, AdminDashboardOptions options) =>
        options.SessionLifetime > TimeSpan.Zero && options.SessionLifetime <= TimeSpan.FromHours(12)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Dashboard:SessionLifetime must be between zero and 12 hours.");
}

/// <summary>
/// Who may see the Orleans Dashboard: system administrators, and holders of the management token. The dashboard's
/// page and its polling requests are plain browser requests that carry no header, so a browser proves itself with a
/// short-lived cookie: an administrator's access token (or the management token) is exchanged for it at
/// <c>POST /dashboard/session</c>. The cookie holds a token signed with the cluster's JWT key for a separate audience
/// (so it is no access token, and any silo can check it); every use checks again that the session is live and the
/// user still an administrator, so logging out or a demotion ends dashboard access at once.
/// </summary>
public sealed class DashboardAccess
{
    public const string CookieName = "dashboard_session";
    public const string CookiePath = "/dashboard";
    private const string Audience = "api-platform:dashboard";
    private const string ManagementSubject = "management";
    private const string ManagementClaim = "mgt";

    private readonly TokenService _tokens;
    private readonly GrainRefs _grains;
    private readonly ApiClock _clock;
    private readonly AdminDashboardOptions _options;
    private readonly string _issuer;
    private readonly byte[]? _managementToken;
    private readonly string? _managementFingerprint;
    private readonly SigningCredentials _credentials;
    private readonly TokenValidationParameters _validation;
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };

    public DashboardAccess(TokenService tokens, GrainRefs grains, ApiClock clock, IOptions<JwtOptions> jwt,
        IOptions<AdminDashboardOptions> options, IOptions<ManagementOptions> management)
    {
        _tokens = tokens;
        _grains = grains;
        _clock = clock;
        _options = options.Value;
        _issuer = jwt.Value.Issuer;
        if (management.Value.Token is { Length: > 0 } token)
        {
            _managementToken = Encoding.UTF8.GetBytes(token);
            // Cookies minted with the management token name it by a digest, so changing the token ends them.
            _managementFingerprint = Convert.ToHexString(SHA256.HashData(_managementToken))[..16];
        }

        var key = new SymmetricSecurityKey(jwt.Value.KeyBytes() ?? throw new InvalidOperationException("Jwt:SigningKey is invalid."));
        _credentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256);
        _validation = new TokenValidationParameters
        {
            ValidIssuer = _issuer,
            ValidAudience = Audience,
            IssuerSigningKey = key,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            LifetimeValidator = (_, expires, _, _) => expires is { } e && e > _clock.UtcNow.UtcDateTime,
        };
    }

    /// <summary>Who the request proves to be, by its <c>Authorization</c> header or else its dashboard cookie; throws 401 or 403.</summary>
    public async Task<DashboardViewer> AuthorizeAsync(HttpContext context)
    {
        if (BearerOf(context) is { } bearer)
        {
            return await FromBearerAsync(bearer);
        }

        if (context.Request.Cookies[CookieName] is { Length: > 0 } cookie)
        {
            return await FromCookieAsync(cookie);
        }

        throw ApiException.Unauthorized(ProblemCodes.AuthenticationRequired,
            "The dashboard is for administrators: sign in at /dashboard/login, or send the management token as a bearer token.");
    }

    /// <summary>Exchanges the request's bearer credential for a dashboard session cookie.</summary>
    public async Task StartSessionAsync(HttpContext context)
    {
        var viewer = await FromBearerAsync(BearerOf(context) ?? throw ApiException.Unauthorized(ProblemCodes.AuthenticationRequired,
            "Send an administrator's access token (Authorization: Bearer …) or the management token."));
        var now = _clock.UtcNow.UtcDateTime;
        var claims = new Dictionary<string, object> { [JwtRegisteredClaimNames.Sub] = viewer.Subject };
        if (viewer.SessionId is { } sessionId)
        {
            claims[JwtRegisteredClaimNames.Sid] = sessionId;
        }
        else
        {
            claims[ManagementClaim] = _managementFingerprint!;
        }

        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = _issuer,
            Audience = Audience,
            IssuedAt = now,
            Expires = now + _options.SessionLifetime,
            SigningCredentials = _credentials,
            Claims = claims,
        });
        context.Response.Cookies.Append(CookieName, token, CookieOptions(context, _options.SessionLifetime));
    }

    public static void EndSession(HttpContext context) =>
        context.Response.Cookies.Delete(CookieName, CookieOptions(context, TimeSpan.Zero));

    private static CookieOptions CookieOptions(HttpContext context, TimeSpan lifetime) => new()
    {
        Path = CookiePath,
        HttpOnly = true,
        Secure = context.Request.IsHttps,
        SameSite = SameSiteMode.Strict,
        MaxAge = lifetime,
        IsEssential = true,
    };

    private static string? BearerOf(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        const string bearer = "Bearer ";
        return authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) && authorization.Length > bearer.Length
            ? authorization[bearer.Length..].Trim()
            : null;
    }

    private async Task<DashboardViewer> FromBearerAsync(string bearer)
    {
        if (_managementToken is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(bearer), _managementToken))
        {
            return new DashboardViewer(ManagementSubject, null);
        }

        var claims = await _tokens.ValidateAsync(bearer)
            ?? throw ApiException.Unauthorized(ProblemCodes.InvalidToken, "The token is neither an access token of this service nor the management token.");
        return await AdministratorAsync(claims.UserId, claims.SessionId);
    }

    private async Task<DashboardViewer> FromCookieAsync(string cookie)
    {
        var result = cookie.Length <= 4096 ? await _handler.ValidateTokenAsync(cookie, _validation) : null;
        if (result is not { IsValid: true })
        {
            throw Expired();
        }

        var identity = result.ClaimsIdentity;
        var subject = identity.FindFirst(JwtRegisteredClaimNames.Sub)?.Value;
        if (subject == ManagementSubject)
        {
            return _managementFingerprint is not null && identity.FindFirst(ManagementClaim)?.Value == _managementFingerprint
                ? new DashboardViewer(ManagementSubject, null)
                : throw Expired();
        }

        return subject is not null && identity.FindFirst(JwtRegisteredClaimNames.Sid)?.Value is { } sessionId
            ? await AdministratorAsync(subject, sessionId)
            : throw Expired();
    }

    /// <summary>The user, if their session is live and they are an administrator now (not just when the token was issued).</summary>
    private async Task<DashboardViewer> AdministratorAsync(string userId, string sessionId)
    {
        if (!await _grains.Get<ISessionGrain>(sessionId).IsActiveAsync())
        {
            throw Expired();
        }

        var user = await _grains.Get<IUserGrain>(userId).GetAsync();
        return user?.Role == SystemRoles.Admin
            ? new DashboardViewer(userId, sessionId)
            : throw ApiException.Forbidden("The dashboard is for system administrators.");
    }

    private static ApiException Expired() =>
        ApiException.Unauthorized(ProblemCodes.InvalidToken, "The dashboard session has ended. Sign in again at /dashboard/login.");
}

/// <summary>Who is looking at the dashboard: an administrator (with their login session) or the management token.</summary>
public sealed record DashboardViewer(string Subject, string? SessionId);
