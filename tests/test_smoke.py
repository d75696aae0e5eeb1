from tests.factories import auth_headers, login, make_user


async def test_health(client):
    resp = await client.get("/health")
    assert resp.status_code == 200


async def test_me_requires_auth(client):
    resp = await client.get("/api/v1/auth/me")
    assert resp.status_code == 401
    assert "Sign in" in resp.json()["detail"]


async def test_login_and_me(client):
    user = await make_user("manager")
    csrf = await login(client, user)
    resp = await client.get("/api/v1/auth/me")
    assert resp.json()["email"] == user.email
    assert resp.json()["csrf_token"] == csrf
    assert (await client.post("/api/v1/auth/logout")).status_code == 403  # no CSRF header
    assert (await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})).status_code == 200
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_bearer(client):
    user = await make_user("agent")
    resp = await client.get("/api/v1/auth/me", headers=await auth_headers(user))
    assert resp.json()["role"] == "agent"
