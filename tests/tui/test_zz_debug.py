from .test_app import SIZE, ready, ask, shown, make_app, opened  # noqa

async def test_debug(make_app, maya, store):
    app = make_app(store=store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.tell("hello there toast")
        await pilot.pause(0.5)
        print(list(app._notifications))
        print(app.screen.query("Toast"))
        t = await shown(pilot)
        print("hello there" in t)
        assert False
